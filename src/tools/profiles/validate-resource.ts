import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { OperationOutcomeError as MedplumOutcomeError, getAllDataTypes, validateResource as validateWithMedplum } from '@medplum/core';
import type { Resource as MedplumResource, StructureDefinition } from '@medplum/fhirtypes';
import type { BoundValue } from './binding-check.ts';
import { checkRequiredBindings } from './binding-check.ts';
import { checkChoiceTypes } from './choice-types.ts';
import type { TerminologySource } from './core-terminology.ts';
import { createCoreTerminology, layerTerminology } from './core-terminology.ts';
import { createExpander, stripVersion } from './expand-value-set.ts';
import { checkDeferredSlicing, slicingView } from './deferred-slicing.ts';
import { checkExtensionSlices } from './extension-slices.ts';
import { checkKnownExtensions } from './known-extensions.ts';
import type { ProfileSet } from './profile-set.ts';
import { DEFAULT_PROFILE_DIR, loadProfileSet } from './profile-set.ts';
import { IG_RESOURCE_DIR } from './ig-build-record.ts';
import { uncheckedInvariants } from './unchecked.ts';
import { ensureR4Types, resourceTypesIn } from './r4-definitions.ts';
import type { ResourceValidator, ValidateOptions } from './resource-validator.ts';
import { validateBundle } from './validate-bundle.ts';
import { dedupeIssues, fromMedplumIssue, toOutcome, withExpectedValue } from './validation-issues.ts';

function isResourceJson(v: unknown): v is MedplumResource {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { resourceType?: unknown }).resourceType === 'string';
}

function issue(severity: OperationOutcomeIssue['severity'], code: OperationOutcomeIssue['code'], expression: string, text: string): OperationOutcomeIssue {
  return { severity, code, details: { text }, expression: [expression] };
}

/** `String` -> `string`, `Quantity` -> `Quantity`, `Foo` -> undefined (not a FHIR type). */
function fhirTypeOf(suffix: string): string | undefined {
  const types = getAllDataTypes();
  const primitive = `${suffix.charAt(0).toLowerCase()}${suffix.slice(1)}`;
  if (primitive in types) {
    return primitive;
  }
  return suffix in types ? suffix : undefined;
}

/** One Medplum pass (against the profile, or the base type when none); required-binding values are collected on the way. */
function runMedplum(resource: MedplumResource, sd: StructureDefinition | undefined, bound: BoundValue[]): OperationOutcomeIssue[] {
  const tokens: Record<string, { type: string; value: unknown; path: string }[]> = {};
  let issues: OperationOutcomeIssue[];
  try {
    // The profile without the slicings Medplum cannot take (deferred-slicing.ts checks or names them).
    issues = validateWithMedplum(resource, { ...(sd ? { profile: slicingView(sd).medplum } : {}), collect: { tokens } }).map(fromMedplumIssue);
  } catch (err) {
    if (err instanceof MedplumOutcomeError) {
      issues = err.outcome.issue.map(fromMedplumIssue);
    } else {
      issues = [issue('error', 'exception', resource.resourceType, `validator failed: ${err instanceof Error ? err.message : String(err)}`)];
    }
  }
  for (const [valueSet, values] of Object.entries(tokens)) {
    bound.push(...values.map((v) => ({ valueSet, type: v.type, value: v.value, path: v.path })));
  }
  return issues.filter((i) => !isUrnReferenceWarning(i)).map((i) => withExpectedValue(i, sd));
}

/**
 * Medplum reads the type of a reference from the text before the first `/`, so every `urn:uuid:`
 * reference of a transaction draws "Invalid reference: got urn:uuid:…". Its type cannot be seen in
 * the string at all; validateBundle checks such references against the entries instead.
 */
function isUrnReferenceWarning(i: OperationOutcomeIssue): boolean {
  return i.severity === 'warning' && (i.details?.text ?? '').startsWith("Invalid reference: got \"urn:");
}

/** Which of meta.profile we hold (ours, the AI Transparency IG's); the rest (a hospital's) are noted, not checked. */
function claimedProfiles(resource: MedplumResource, profiles: ProfileSet): { readonly ours: StructureDefinition[]; readonly others: string[] } {
  const claimed = (resource.meta?.profile ?? []).filter((p): p is string => typeof p === 'string');
  const ours: StructureDefinition[] = [];
  const others: string[] = [];
  for (const url of claimed) {
    const sd = profiles.structureDefinitions.get(stripVersion(url));
    if (sd) {
      ours.push(sd);
    } else {
      others.push(url);
    }
  }
  return { ours, others };
}

export function createResourceValidator(profiles: ProfileSet): ResourceValidator {
  ensureR4Types([]);
  const ownTerminology: TerminologySource = {
    valueSet: (url) => profiles.valueSets.get(url),
    codeSystem: (url) => profiles.codeSystems.get(url),
  };
  const expander = createExpander(layerTerminology(ownTerminology, createCoreTerminology()));

  function validateShallow(resource: unknown, options: ValidateOptions = {}): OperationOutcome {
    if (!isResourceJson(resource)) {
      return toOutcome([issue('fatal', 'structure', '(root)', 'not a FHIR resource: a JSON object with a resourceType is expected')]);
    }
    const type = resource.resourceType;
    ensureR4Types(resourceTypesIn(resource));
    if (getAllDataTypes()[type]?.kind !== 'resource') {
      return toOutcome([issue('fatal', 'structure', `${type}.resourceType`, `unknown resource type ${type}`)]);
    }
    const { ours, others } = claimedProfiles(resource, profiles);
    const issues: OperationOutcomeIssue[] = [];
    const bound: BoundValue[] = [];
    for (const url of others) {
      issues.push(issue('information', 'not-supported', `${type}.meta.profile`, `not checked: profile ${url} is not loaded here; checked against R4${ours.length ? ' and the loaded profiles it claims' : ''} only`));
    }
    if (!ours.length && options.requireProfile) {
      issues.push(issue('error', 'required', `${type}.meta.profile`, `names no loaded profile (${[...profiles.structureDefinitions.values()].filter((s) => s.kind === 'resource').map((s) => s.url).join(', ')})`));
    }
    const mismatched = ours.filter((sd) => sd.type !== type);
    for (const sd of mismatched) {
      issues.push(issue('error', 'invalid', `${type}.meta.profile`, `profile ${sd.url} constrains ${sd.type ?? '?'}, not ${type}`));
    }
    const targets = ours.filter((sd) => sd.type === type);
    if (!targets.length) {
      issues.push(...runMedplum(resource, undefined, bound));
    }
    for (const sd of targets) {
      issues.push(...runMedplum(resource, sd, bound));
      issues.push(...checkChoiceTypes(resource, sd, fhirTypeOf));
      const slices = checkExtensionSlices(resource, sd);
      issues.push(...slices.issues);
      bound.push(...slices.boundValues);
      issues.push(...checkDeferredSlicing(resource, sd, options.resolve));
      const invariants = uncheckedInvariants(sd);
      if (invariants) {
        issues.push({ ...invariants, expression: [type] });
      }
    }
    const extensions = checkKnownExtensions(resource, type, profiles);
    issues.push(...extensions.issues);
    bound.push(...extensions.boundValues);
    issues.push(...checkRequiredBindings(bound, expander));
    return toOutcome(dedupeIssues(issues));
  }

  const validator: ResourceValidator = {
    profiles,
    expander,
    validateShallow,
    validateResource: (resource, options) =>
      isResourceJson(resource) && resource.resourceType === 'Bundle' ? validateBundle(validator, resource, options) : validateShallow(resource, options),
    validateBundle: (bundle, options) => validateBundle(validator, bundle, options),
  };
  return validator;
}

/**
 * Loads our snapshots (default: fhir-profiles/fsh-generated/resources) and the AI Transparency
 * IG's (fhir-profiles/aitransparency/resources, always), and indexes R4.
 */
export async function loadResourceValidator(profileDir?: string): Promise<ResourceValidator> {
  return createResourceValidator(await loadProfileSet([profileDir ?? DEFAULT_PROFILE_DIR, IG_RESOURCE_DIR]));
}

let shared: Promise<ResourceValidator> | undefined;

/** One validator on the shipped profiles per process, for tests that check what the service emits. */
export function loadDefaultValidator(): Promise<ResourceValidator> {
  shared ??= loadResourceValidator();
  return shared;
}
