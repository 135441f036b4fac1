import type { OperationOutcomeIssue } from 'fhir/r4';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { elementSegments, isObject, locate } from './element-walker.ts';
import { stripVersion } from './expand-value-set.ts';
import type { ProfileSet } from './profile-set.ts';

/** An entry of the Bundle under check, where it sits, and the profiles it claims. */
export interface BundleEntryRef {
  readonly index: number;
  readonly fullUrl?: string;
  readonly resource: Readonly<Record<string, unknown>>;
}

const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';

function referencesIn(value: unknown, path: string, out: { readonly reference: string; readonly path: string }[] = []): { readonly reference: string; readonly path: string }[] {
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => referencesIn(v, `${path}[${i}]`, out));
  } else if (isObject(value)) {
    const ref = value.reference;
    if (typeof ref === 'string') {
      out.push({ reference: ref, path });
    }
    for (const [k, v] of Object.entries(value)) {
      if (k !== 'reference' && typeof v === 'object') {
        referencesIn(v, `${path}.${k}`, out);
      }
    }
  }
  return out;
}

/**
 * `urn:uuid:` references must name an entry's fullUrl: a server applying the transaction rewrites
 * exactly those, and one that matches nothing is left dangling without any error.
 */
export function checkUnresolvedReferences(entries: readonly BundleEntryRef[]): OperationOutcomeIssue[] {
  const fullUrls = new Set(entries.flatMap((e) => (e.fullUrl ? [e.fullUrl] : [])));
  return entries.flatMap((e) =>
    referencesIn(e.resource, `Bundle.entry[${e.index}].resource`)
      .filter((r) => r.reference.startsWith('urn:uuid:') && !fullUrls.has(r.reference))
      .map((r) => ({
        severity: 'error' as const,
        code: 'not-found' as const,
        details: { text: `${r.reference} is not the fullUrl of any entry in the Bundle` },
        expression: [r.path],
      })),
  );
}

function claims(resource: Readonly<Record<string, unknown>>): readonly string[] {
  const meta = resource.meta;
  const profile = isObject(meta) ? meta.profile : undefined;
  return Array.isArray(profile) ? profile.filter((p): p is string => typeof p === 'string').map(stripVersion) : [];
}

/** Whether `target` may stand where a profile's Reference(targetProfile...) is. */
function fitsTarget(target: Readonly<Record<string, unknown>>, targetProfiles: readonly string[], profiles: ProfileSet): boolean {
  return targetProfiles.some((tp) => {
    const ours = profiles.structureDefinitions.get(stripVersion(tp));
    if (ours) {
      return ours.type === target.resourceType && claims(target).includes(ours.url ?? '');
    }
    return tp === `${CORE_SD}Resource` || tp === `${CORE_SD}${String(target.resourceType)}`;
  });
}

/**
 * Inside one Bundle the targets of our profiles' references can be seen: DiagnosticReport.result
 * must point at an Observation claiming one of our Observation profiles, not at any resource.
 */
export function checkReferenceTargets(entries: readonly BundleEntryRef[], profiles: ProfileSet): OperationOutcomeIssue[] {
  const byFullUrl = new Map(entries.flatMap((e) => (e.fullUrl ? [[e.fullUrl, e.resource] as const] : [])));
  const issues: OperationOutcomeIssue[] = [];
  for (const e of entries) {
    const sds = claims(e.resource).flatMap((u): StructureDefinition[] => {
      const sd = profiles.structureDefinitions.get(u);
      return sd && sd.type === e.resource.resourceType ? [sd] : [];
    });
    for (const sd of sds) {
      for (const el of sd.snapshot?.element ?? []) {
        const targetProfiles = el.type?.find((t) => t.code === 'Reference')?.targetProfile;
        if (!targetProfiles?.length || el.id?.includes(':') || el.path?.includes('[x]')) {
          continue;
        }
        for (const at of locate(e.resource, `Bundle.entry[${e.index}].resource`, elementSegments(el))) {
          const ref = isObject(at.value) ? at.value.reference : undefined;
          const target = typeof ref === 'string' ? byFullUrl.get(ref) : undefined;
          if (target && !fitsTarget(target, targetProfiles, profiles)) {
            issues.push({
              severity: 'error',
              code: 'invalid',
              details: { text: `${String(ref)} is ${String(target.resourceType)} (profiles: ${claims(target).join(', ') || 'none'}); ${el.path} takes ${targetProfiles.join(' or ')}` },
              expression: [at.path],
            });
          }
        }
      }
    }
  }
  return issues;
}
