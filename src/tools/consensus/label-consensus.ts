/**
 * One label's consensus from its votes: Dawid-Skene EM when two or more annotators voted, their
 * agreement (Fleiss, pairwise Cohen) and where EM and the plain majority part ways.
 */
import type { PairwiseKappa } from './cohen-kappa.ts';
import { computePairwiseCohenKappa } from './cohen-kappa.ts';
import type { DawidSkeneOptions } from './dawid-skene.ts';
import { DAWID_SKENE_DEFAULTS, estimateDawidSkene } from './dawid-skene.ts';
import type { AgreementStatistic } from './fleiss-kappa.ts';
import { computeFleissKappa } from './fleiss-kappa.ts';
import type { MajorityDecision } from './majority-vote.ts';
import { takeMajorityVote } from './majority-vote.ts';
import type { BinaryVote, LabelledVote } from './vote-matrix.ts';
import { buildVoteMatrix, countVotes } from './vote-matrix.ts';

/**
 * - consensus: two or more annotators; EM posteriors.
 * - single-annotator: EM degenerates to that annotator (with one rater the rates and the truth are
 *   not identifiable; EM's fixed point just reproduces the votes). The votes are the consensus,
 *   posteriors are 0/1, and no rates are estimated.
 * - not-annotated: nobody voted on the label; its column stays empty.
 */
export const LABEL_STATUSES = ['consensus', 'single-annotator', 'not-annotated'] as const;
export type LabelStatus = (typeof LABEL_STATUSES)[number];

/** Posterior at or above this is a consensus 1: an exact 0.5 goes to "present", the cautious side for triage. */
export const DECISION_THRESHOLD = 0.5;

export interface AnnotatorRates {
  readonly annotator: string;
  /** null with a single annotator: not identifiable. */
  readonly sensitivity: number | null;
  readonly specificity: number | null;
  readonly votes: number;
}

export interface ItemConsensus {
  readonly image: string;
  readonly posterior: number;
  readonly consensus: BinaryVote;
  readonly majority: MajorityDecision;
}

export interface LabelConsensus {
  readonly label: string;
  readonly status: LabelStatus;
  readonly annotators: readonly string[];
  readonly items: readonly ItemConsensus[];
  readonly rates: readonly AnnotatorRates[];
  readonly em: { readonly prior: number; readonly iterations: number; readonly converged: boolean } | null;
  readonly fleissKappa: AgreementStatistic;
  readonly cohenKappa: readonly PairwiseKappa[];
  /** Plain-language cautions for the report (single annotator, no overlap, EM not converged, ...). */
  readonly notes: readonly string[];
}

function decide(posterior: number): BinaryVote {
  return posterior >= DECISION_THRESHOLD ? 1 : 0;
}

/** `annotatorOrder` fixes the order annotators are listed in (default: first vote seen). */
export function buildLabelConsensus(label: string, votes: readonly LabelledVote[], options: DawidSkeneOptions = {}, annotatorOrder: readonly string[] = []): LabelConsensus {
  const m = buildVoteMatrix(votes, annotatorOrder);
  const majority = takeMajorityVote(m);
  const fleissKappa = computeFleissKappa(countVotes(m));
  const cohenKappa = computePairwiseCohenKappa(m);
  const base = { label, annotators: m.raters, fleissKappa, cohenKappa };
  if (m.raters.length === 0) {
    return { ...base, status: 'not-annotated', items: [], rates: [], em: null, notes: ['nobody annotated this label: its column stays empty'] };
  }
  if (m.raters.length === 1) {
    return {
      ...base,
      status: 'single-annotator',
      items: m.items.map((image, i) => {
        const v = m.votes[i]![0]!.value;
        return { image, posterior: v, consensus: v, majority: majority[i]! };
      }),
      rates: [{ annotator: m.raters[0]!, sensitivity: null, specificity: null, votes: m.votes.length }],
      em: null,
      notes: [
        `only annotator ${m.raters[0]!} voted on this label: EM degenerates to that annotator, so the consensus is their votes and their sensitivity/specificity cannot be estimated; have a second annotator label at least part of these images`,
      ],
    };
  }
  const em = estimateDawidSkene(m, options);
  const notes: string[] = [];
  if (fleissKappa.items === 0) {
    notes.push('no image has two votes on this label: the annotators cannot be checked against each other, so treat the consensus as single, unchecked votes');
  }
  if (!em.converged) {
    notes.push(`EM stopped at the iteration cap (${options.maxIterations ?? DAWID_SKENE_DEFAULTS.maxIterations}) before converging`);
  }
  const youden = em.raters.reduce((a, r) => a + r.sensitivity + r.specificity - 1, 0) / em.raters.length;
  if (youden < 0) {
    notes.push('EM settled where annotators are on average worse than chance (sensitivity + specificity < 1): check that 1 means present for everyone');
  }
  return {
    ...base,
    status: 'consensus',
    items: m.items.map((image, i) => ({ image, posterior: em.posteriors[i]!, consensus: decide(em.posteriors[i]!), majority: majority[i]! })),
    rates: em.raters.map((r, j) => ({ annotator: m.raters[j]!, ...r })),
    em: { prior: em.prior, iterations: em.iterations, converged: em.converged },
    notes,
  };
}
