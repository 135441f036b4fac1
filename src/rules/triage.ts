import type { CriterionResult } from './criterion.ts';
import { fill } from './criterion.ts';
import type { CriterionVerdict, RuleSet, TriageCategory } from './rule-set.ts';

export const CONCORDANCE = ['concordant', 'discordant', 'criterion-indeterminate'] as const;
export type Concordance = (typeof CONCORDANCE)[number];

export interface TriageResult {
  readonly category: TriageCategory;
  readonly categoryDisplay: string;
  readonly rule: string;
  /** The network's own call at the rules' network operating point. */
  readonly networkVerdict: Exclude<CriterionVerdict, 'indeterminate'>;
  readonly concordance: Concordance;
  /** Why, in words a clinician reads: network, criterion, agreement, triage. */
  readonly trace: readonly string[];
}

/** Combines the BCC probability with the criterion into a queue priority; the first matching row wins. */
export function assignTriage(
  probability: number,
  criterion: CriterionResult,
  thresholds: Readonly<Record<string, number>>,
  rules: RuleSet,
): TriageResult {
  const netT = thresholds[rules.network.threshold] ?? Number.NaN;
  const networkVerdict = probability >= netT ? 'bcc' : 'not-bcc';
  const concordance: Concordance =
    criterion.verdict === 'indeterminate' ? 'criterion-indeterminate' : criterion.verdict === networkVerdict ? 'concordant' : 'discordant';
  const row = rules.triage.find((t) => {
    const p = t.if.probabilityAtLeast;
    if (p !== undefined && !(probability >= (thresholds[p] ?? Number.POSITIVE_INFINITY))) {
      return false;
    }
    return t.if.criterion === undefined || t.if.criterion === criterion.verdict;
  });
  // parseRuleSet guarantees a catch-all last row.
  const chosen = row ?? rules.triage[rules.triage.length - 1]!;
  const display = rules.categories.find((c) => c.code === chosen.category)?.display ?? chosen.category;
  const trace = [
    fill(rules.network.text, {
      probability: probability.toFixed(3),
      comparison: networkVerdict === 'bcc' ? 'at or above' : 'below',
      threshold: rules.network.threshold,
      thresholdValue: netT.toFixed(3),
    }),
    criterion.text,
    ...(criterion.notAssessed.length ? [`Not assessed by this model: ${criterion.notAssessed.join(', ')}.`] : []),
    concordance === 'concordant'
      ? 'Network and criterion agree.'
      : concordance === 'discordant'
        ? `Network (${networkVerdict}) and criterion (${criterion.verdict}) disagree: look closely.`
        : 'The criterion is indeterminate; the network alone informs the priority.',
    `${display}: ${chosen.text}`,
  ];
  return { category: chosen.category, categoryDisplay: display, rule: chosen.id, networkVerdict, concordance, trace };
}
