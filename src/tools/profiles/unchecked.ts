import type { OperationOutcome } from 'fhir/r4';

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
  "invariants are evaluated by Medplum's FHIRPath engine, which does not resolve() references to other resources",
];

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
