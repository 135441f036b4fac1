/**
 * The consensus report (JSON): per label, how the consensus came about and how far to trust it.
 * Numbers are rounded to 4 decimals; undefined statistics are null.
 */
import type { DawidSkeneOptions } from './dawid-skene.ts';
import { DAWID_SKENE_DEFAULTS } from './dawid-skene.ts';
import type { BaseComparison } from './consensus-labels.ts';
import type { LabelConsensus } from './label-consensus.ts';
import { DECISION_THRESHOLD } from './label-consensus.ts';

export const FLEISS_VARIANT =
  "Fleiss' kappa with varying raters per item: per-item agreement over items with >= 2 votes, unweighted mean; category shares pooled over their votes";

/** Disagreements listed in full up to this many per label; the count is always exact. */
const MAX_LISTED = 200;

export interface ReportInput {
  readonly annotations: string;
  readonly images: number;
  readonly annotators: readonly string[];
  readonly duplicates: number;
  readonly soft: boolean;
  readonly options: DawidSkeneOptions;
  readonly results: readonly LabelConsensus[];
  readonly hardened: readonly string[];
  readonly base: { readonly path: string; readonly comparison: Readonly<Record<string, BaseComparison>>; readonly appended: readonly string[] } | null;
  readonly generated: string;
}

function round(x: number | null): number | null {
  return x === null || !Number.isFinite(x) ? null : Number(x.toFixed(4));
}

interface Disagreement {
  readonly image: string;
  readonly positiveVotes: number;
  readonly votes: number;
  readonly majority: 0 | 1 | 'tie';
  readonly em: 0 | 1;
  readonly posterior: number | null;
}

function describeLabel(r: LabelConsensus, hardened: boolean, base: BaseComparison | undefined): Record<string, unknown> {
  const split: Disagreement[] = r.items
    .filter((i) => i.majority.decision !== i.consensus)
    .map((i) => ({ image: i.image, positiveVotes: i.majority.positives, votes: i.majority.votes, majority: i.majority.decision, em: i.consensus, posterior: round(i.posterior) }));
  const ties = split.filter((d) => d.majority === 'tie').length;
  return {
    status: r.status,
    images: r.items.length,
    votes: r.items.reduce((a, i) => a + i.majority.votes, 0),
    annotators: r.annotators,
    positives: r.items.filter((i) => i.consensus === 1).length,
    prior: round(r.em?.prior ?? null),
    em: r.em ? { iterations: r.em.iterations, converged: r.em.converged } : null,
    annotatorRates: Object.fromEntries(r.rates.map((a) => [a.annotator, { sensitivity: round(a.sensitivity), specificity: round(a.specificity), votes: a.votes }])),
    fleissKappa: { value: round(r.fleissKappa.value), images: r.fleissKappa.items },
    cohenKappa: r.cohenKappa.map((k) => ({ annotators: k.raters, value: round(k.value), images: k.items })),
    majorityVsEm: {
      // Ties have no majority: they are listed with EM's answer, and counted apart from true disagreements.
      ties: r.items.filter((i) => i.majority.decision === 'tie').length,
      disagreements: split.length - ties,
      listed: split.slice(0, MAX_LISTED),
    },
    ...(hardened ? { soft: 'written as hard 0/1: no image has a positive consensus' } : {}),
    ...(base ? { base } : {}),
    notes: r.notes,
  };
}

export function buildConsensusReport(input: ReportInput): Record<string, unknown> {
  const { tolerance, maxIterations, smoothing } = { ...DAWID_SKENE_DEFAULTS, ...input.options };
  return {
    generated: input.generated,
    annotations: input.annotations,
    images: input.images,
    annotators: input.annotators,
    duplicateRowsCollapsed: input.duplicates,
    method: {
      consensus: 'Dawid-Skene EM per label (binary: sensitivity and specificity per annotator, class prior), started from the share of positive votes',
      tolerance,
      maxIterations,
      smoothing: `Beta(1 + ${smoothing}, 1 + ${smoothing}) prior on every rate and on the class prior (MAP M-step)`,
      decision: `consensus 1 when the posterior is >= ${DECISION_THRESHOLD}`,
      output: input.soft ? 'soft: posterior probabilities (4 decimals)' : 'hard: consensus 0/1',
      fleissKappa: FLEISS_VARIANT,
      cohenKappa: 'per annotator pair, over the images both voted on',
      singleAnnotator: 'EM degenerates to that annotator: the consensus is their votes; rates not estimated (null)',
    },
    ...(input.base ? { base: input.base.path } : {}),
    labels: Object.fromEntries(input.results.map((r) => [r.label, describeLabel(r, input.hardened.includes(r.label), input.base?.comparison[r.label])])),
    notAnnotated: input.results.filter((r) => r.status === 'not-annotated').map((r) => r.label),
    warnings: [
      ...input.results.filter((r) => r.status !== 'not-annotated').flatMap((r) => r.notes.map((n) => `${r.label}: ${n}`)),
      ...(input.base?.appended.length
        ? [
            `${input.base.appended.length} annotated image(s) are not in ${input.base.path} and were appended with empty mask, group, source and diagnosis (train.py needs bcc, group and source on every row), e.g. ${input.base.appended.slice(0, 3).join(', ')}`,
          ]
        : []),
    ],
  };
}
