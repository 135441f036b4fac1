import type { PatternFinding } from '../model/findings.ts';
import type { CriterionVerdict, RuleSet } from './rule-set.ts';

export interface CriterionResult {
  readonly verdict: CriterionVerdict;
  /** The clause that decided, or `otherwise`. */
  readonly clause: string;
  /** Patterns that made the deciding clause fire. */
  readonly evidence: readonly string[];
  readonly text: string;
  /** Patterns the criterion names but the installed model cannot assess. */
  readonly notAssessed: readonly string[];
}

/** Applies the dermatologists' criterion: first clause whose condition holds wins. Only assessed patterns count. */
export function applyBccCriterion(patterns: readonly PatternFinding[], rules: RuleSet): CriterionResult {
  const notAssessed = patterns.filter((p) => p.status === 'not-assessed').map((p) => p.display);
  for (const c of rules.clauses) {
    const hits = patterns.filter((p) => p.status === 'present' && p.role === c.if.anyPresent.role);
    if (hits.length > 0) {
      const names = hits.map((p) => p.display);
      return { verdict: c.then, clause: c.id, evidence: hits.map((p) => p.id), text: fill(c.text, { patterns: names.join(', ') }), notAssessed };
    }
  }
  return { verdict: rules.otherwise.then, clause: 'otherwise', evidence: [], text: rules.otherwise.text, notAssessed };
}

export function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}
