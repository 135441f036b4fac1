import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { StructureDefinition } from '@medplum/fhirtypes';

/**
 * What this validator never checks, whatever the resource: said with every `npm run validate` run,
 * next to the constructs each file's profiles contain that it could not check (the `not-supported`
 * notes: slices discriminated by profile, target profiles inside such slices, required bindings
 * to value sets that cannot be expanded offline, profiles not loaded).
 */
export const GENERAL_LIMITS: readonly string[] = [
  'bindings weaker than required (extensible, preferred, example) are not checked',
  'an extension is checked for its value (type, required binding) but not for its context (where it may be used)',
  "a reference's target profile is checked only inside a Bundle, where the target is an entry",
  "invariants are evaluated by Medplum's FHIRPath engine, which does not resolve() references to other resources; after one failed invariant on an element, the others on it are not reported",
];

/**
 * Invariants Medplum's validator never evaluates: severity warning (best practice), and the keys
 * it skips (@medplum/core 5.2.13 validator: ele-1, dom-3, org-1, sdf-19).
 */
const SKIPPED_BY_MEDPLUM: ReadonlySet<string> = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

const invariantNotes = new WeakMap<StructureDefinition, OperationOutcomeIssue | null>();

/** One note per profile naming the invariants of its snapshot that are not evaluated, or none. */
export function uncheckedInvariants(sd: StructureDefinition): OperationOutcomeIssue | undefined {
  const hit = invariantNotes.get(sd);
  if (hit !== undefined) {
    return hit ?? undefined;
  }
  const keys = new Map<string, string>();
  for (const el of sd.snapshot?.element ?? []) {
    for (const c of el.constraint ?? []) {
      if (c.severity === 'warning') {
        keys.set(c.key ?? '?', 'warning');
      } else if (SKIPPED_BY_MEDPLUM.has(c.key ?? '')) {
        keys.set(c.key ?? '?', 'skipped by Medplum');
      }
    }
  }
  const note: OperationOutcomeIssue | null = keys.size
    ? {
        severity: 'information',
        code: 'not-supported',
        details: { text: `not checked: invariants ${[...keys].sort(([a], [b]) => a.localeCompare(b)).map(([k, why]) => `${k} (${why})`).join(', ')} of ${sd.url ?? '?'}` },
        expression: [sd.type ?? '?'],
      }
    : null;
  invariantNotes.set(sd, note);
  return note ?? undefined;
}

/** The distinct `not checked` notes of the outcomes, without where they occurred. */
export function uncheckedNotes(outcomes: readonly OperationOutcome[]): string[] {
  const notes = new Set<string>();
  for (const o of outcomes) {
    for (const i of o.issue) {
      const text = i.details?.text ?? '';
      if (i.code === 'not-supported' && text.startsWith('not checked: ')) {
        notes.add(text.slice('not checked: '.length));
      }
    }
  }
  return [...notes].sort();
}
