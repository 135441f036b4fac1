import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { OperationOutcomeIssue as MedplumIssue, StructureDefinition } from '@medplum/fhirtypes';

/** Medplum's issue as an R4 issue of our own types (the two packages type FHIR separately). */
export function fromMedplumIssue(i: MedplumIssue): OperationOutcomeIssue {
  return {
    severity: i.severity ?? 'error',
    code: i.code ?? 'invalid',
    details: { text: i.details?.text ?? i.diagnostics ?? 'invalid' },
    ...(i.expression?.length ? { expression: [...i.expression] } : {}),
    ...(i.diagnostics ? { diagnostics: i.diagnostics } : {}),
  };
}

/** `Media.content[0].contentType` -> `Media.content.contentType`, the ElementDefinition path. */
function elementPathOf(expression: string): string {
  return expression.replace(/\[\d+\]/g, '');
}

/**
 * Medplum says only "Value did not match expected pattern"; the integrator needs the value the
 * profile wants, so it is looked up in the snapshot and added.
 */
export function withExpectedValue(issue: OperationOutcomeIssue, sd: StructureDefinition | undefined): OperationOutcomeIssue {
  const at = issue.expression?.[0];
  if (!sd || !at || !(issue.details?.text ?? '').includes('did not match expected pattern')) {
    return issue;
  }
  const path = elementPathOf(at);
  const el = sd.snapshot?.element?.find((e) => e.path === path && !e.id?.includes(':'));
  const expected = el && Object.entries(el).find(([k]) => k.startsWith('fixed') || k.startsWith('pattern'));
  if (!expected) {
    return issue;
  }
  return { ...issue, details: { text: `${issue.details?.text ?? ''}: expected ${JSON.stringify(expected[1])} (${sd.url})` } };
}

/** Moves issues of a resource validated alone into its place in a Bundle (`Observation.x` -> `Bundle.entry[3].resource.x`). */
export function relocateIssue(issue: OperationOutcomeIssue, prefix: string): OperationOutcomeIssue {
  const expression = issue.expression?.map((e) => {
    const dot = e.indexOf('.');
    return dot < 0 ? prefix : `${prefix}${e.slice(dot)}`;
  });
  return { ...issue, ...(expression ? { expression } : {}) };
}

export function dedupeIssues(issues: readonly OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}|${i.code}|${(i.expression ?? []).join(',')}|${i.details?.text ?? ''}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

/** OperationOutcome.issue is 1..*: a clean result carries one informational issue. */
export function toOutcome(issues: readonly OperationOutcomeIssue[]): OperationOutcome {
  const issue = issues.length ? [...issues] : [{ severity: 'information' as const, code: 'informational' as const, details: { text: 'All OK' } }];
  return { resourceType: 'OperationOutcome', issue };
}

export function errorIssues(outcome: OperationOutcome): OperationOutcomeIssue[] {
  return outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

export function isValid(outcome: OperationOutcome): boolean {
  return errorIssues(outcome).length === 0;
}

/** `error Observation.valueString: type String is not allowed ...`, one line for people and logs. */
export function formatIssue(i: OperationOutcomeIssue): string {
  const where = i.expression?.length ? `${i.expression.join(', ')}: ` : '';
  return `${i.severity} ${where}${i.details?.text ?? i.diagnostics ?? i.code}`;
}
