/**
 * One pattern's labels from the annotation sheet: Dawid-Skene over the annotators' votes
 * (tools/consensus), hard labels at posterior >= 0.5, each annotator's rates, and how many images
 * sat in the uncertain band (posterior 0.2-0.8), which are kept with their hard label and counted.
 */
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import type { AnnotatorSummary } from '../../learning/model-card.ts';
import { UNCERTAIN_RANGE } from '../../learning/model-card.ts';
import { parseAnnotations } from '../consensus/annotations.ts';
import type { LabelConsensus } from '../consensus/label-consensus.ts';
import { buildLabelConsensus } from '../consensus/label-consensus.ts';

export interface PatternConsensus {
  readonly pattern: string;
  readonly status: LabelConsensus['status'];
  /** Images with at least one vote on the pattern, sheet order. */
  readonly images: readonly string[];
  readonly posteriors: readonly number[];
  readonly labels: readonly (0 | 1)[];
  readonly annotators: readonly AnnotatorSummary[];
  readonly uncertain: number;
  readonly prior: number | null;
  readonly fleissKappa: number | null;
  readonly notes: readonly string[];
}

export function patternConsensus(text: string, labels: readonly string[], pattern: string, source: string): PatternConsensus {
  const sheet = parseAnnotations(text, labels, source);
  const votes = sheet.votes.filter((v) => v.label === pattern).map((v) => ({ item: v.image, rater: v.annotator, value: v.value }));
  const c = buildLabelConsensus(pattern, votes, {}, sheet.annotators);
  if (c.status === 'not-annotated') {
    throw new OperationOutcomeError(badRequest(`nobody annotated "${pattern}" in ${source}`, source));
  }
  const [lo, hi] = UNCERTAIN_RANGE;
  return {
    pattern,
    status: c.status,
    images: c.items.map((i) => i.image),
    posteriors: c.items.map((i) => i.posterior),
    labels: c.items.map((i) => i.consensus),
    annotators: c.rates.map((r) => ({ id: r.annotator, votes: r.votes, sensitivity: r.sensitivity, specificity: r.specificity })),
    uncertain: c.items.filter((i) => i.posterior >= lo && i.posterior <= hi).length,
    prior: c.em?.prior ?? null,
    fleissKappa: c.fleissKappa.value,
    notes: c.notes,
  };
}
