import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { BundleEntryRef } from './bundle-references.ts';
import { checkReferenceTargets, checkUnresolvedReferences } from './bundle-references.ts';
import { isObject } from './element-walker.ts';
import type { ResourceValidator, ValidateOptions } from './resource-validator.ts';
import { dedupeIssues, relocateIssue, toOutcome } from './validation-issues.ts';

function entriesOf(bundle: Readonly<Record<string, unknown>>): BundleEntryRef[] {
  const entry = Array.isArray(bundle.entry) ? bundle.entry : [];
  return entry.flatMap((e: unknown, index): BundleEntryRef[] => {
    if (!isObject(e) || !isObject(e.resource)) {
      return [];
    }
    const fullUrl = typeof e.fullUrl === 'string' ? e.fullUrl : undefined;
    return [{ index, resource: e.resource, ...(fullUrl ? { fullUrl } : {}) }];
  });
}

/**
 * A Bundle (the report's transaction, a card's resources): the Bundle itself against R4, every entry
 * against its profiles (issues relocated to `Bundle.entry[i].resource...`; references to other
 * entries resolved, for slices discriminated by the target's profile), and the links between
 * entries (unresolved `urn:uuid:` references, targets that do not claim the profile a reference asks for).
 */
export function validateBundle(validator: ResourceValidator, bundle: unknown, options: ValidateOptions = {}): OperationOutcome {
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') {
    return validator.validateShallow(bundle, options);
  }
  const entries = entriesOf(bundle);
  // The Bundle's own check walks into each entry against the base types only; those findings
  // come again, against the profiles, from the per-entry pass.
  const own = validator.validateShallow(bundle).issue.filter((i) => !(i.expression ?? []).some((e) => /^Bundle\.entry\[\d+\]\.resource\./.test(e)) && i.code !== 'informational');
  const byFullUrl = new Map(entries.flatMap((e) => (e.fullUrl ? [[e.fullUrl, e.resource] as const] : [])));
  const entryOptions: ValidateOptions = { ...options, resolve: (reference) => byFullUrl.get(reference) };
  const perEntry: OperationOutcomeIssue[] = entries.flatMap((e) =>
    validator
      .validateResource(e.resource, entryOptions)
      .issue.filter((i) => i.code !== 'informational')
      .map((i) => relocateIssue(i, `Bundle.entry[${e.index}].resource`)),
  );
  return toOutcome(dedupeIssues([...own, ...perEntry, ...checkUnresolvedReferences(entries), ...checkReferenceTargets(entries, validator.profiles)]));
}
