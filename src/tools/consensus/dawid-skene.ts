/**
 * Dawid-Skene EM for one binary label (Dawid & Skene, "Maximum likelihood estimation of observer
 * error-rates using the EM algorithm", Appl. Stat. 28(1), 1979), as used for the paper's reference
 * standard: each rater has a sensitivity and a specificity, the label a prior, and every item's
 * true class is a latent variable whose posterior is the consensus.
 *
 * Deviation from the 1979 paper: the M-step is a MAP step under Beta(1 + s, 1 + s) priors on every
 * rate and on the prior (s = `smoothing`, default 1 = add-one). A rater with three votes would
 * otherwise get a sensitivity of exactly 1 and a vote that overrules everyone (log 0); with s = 1
 * their rates shrink towards 0.5, so their vote counts little until they have cast many. EM still
 * increases its objective (log-likelihood + log-prior) at every step; `objective` traces it.
 */
import { computePositiveShares } from './majority-vote.ts';
import type { VoteMatrix } from './vote-matrix.ts';

export interface DawidSkeneOptions {
  /** Stop when no posterior moves by more than this between iterations. */
  readonly tolerance?: number;
  /** Stop after this many iterations even if not converged (`converged` is then false). */
  readonly maxIterations?: number;
  /** Beta pseudo-counts added to each side of every rate and of the prior. */
  readonly smoothing?: number;
}

export const DAWID_SKENE_DEFAULTS = { tolerance: 1e-6, maxIterations: 500, smoothing: 1 } as const;

export interface RaterAccuracy {
  /** P(vote 1 | truly 1). */
  readonly sensitivity: number;
  /** P(vote 0 | truly 0). */
  readonly specificity: number;
  readonly votes: number;
}

export interface DawidSkeneResult {
  /** P(truly 1 | all votes) per item, in VoteMatrix.items order. */
  readonly posteriors: readonly number[];
  /** Estimated share of items truly 1. */
  readonly prior: number;
  readonly raters: readonly RaterAccuracy[];
  readonly iterations: number;
  readonly converged: boolean;
  /** Log-likelihood + log-prior after each iteration: never decreases (a test checks it). */
  readonly objective: readonly number[];
}

interface Parameters {
  readonly prior: number;
  readonly raters: readonly RaterAccuracy[];
}

/** M-step: MAP rates given the current posteriors. */
function estimateParameters(m: VoteMatrix, posteriors: readonly number[], s: number): Parameters {
  const n = m.raters.length;
  const truePos = new Array<number>(n).fill(0);
  const pos = new Array<number>(n).fill(0);
  const trueNeg = new Array<number>(n).fill(0);
  const neg = new Array<number>(n).fill(0);
  const votes = new Array<number>(n).fill(0);
  m.votes.forEach((cell, i) => {
    const t = posteriors[i]!;
    for (const v of cell) {
      pos[v.rater]! += t;
      neg[v.rater]! += 1 - t;
      votes[v.rater]! += 1;
      if (v.value === 1) {
        truePos[v.rater]! += t;
      } else {
        trueNeg[v.rater]! += 1 - t;
      }
    }
  });
  const total = posteriors.reduce((a, b) => a + b, 0);
  return {
    prior: (total + s) / (posteriors.length + 2 * s),
    raters: m.raters.map((_, j) => ({
      sensitivity: (truePos[j]! + s) / (pos[j]! + 2 * s),
      specificity: (trueNeg[j]! + s) / (neg[j]! + 2 * s),
      votes: votes[j]!,
    })),
  };
}

function computeLogPrior(p: Parameters, s: number): number {
  const beta = (x: number): number => s * (Math.log(x) + Math.log(1 - x));
  return beta(p.prior) + p.raters.reduce((a, r) => a + beta(r.sensitivity) + beta(r.specificity), 0);
}

/** E-step: posteriors given the rates, and the marginal log-likelihood of all votes. */
function inferPosteriors(m: VoteMatrix, p: Parameters): { posteriors: number[]; logLikelihood: number } {
  let logLikelihood = 0;
  const posteriors = m.votes.map((cell) => {
    let l1 = Math.log(p.prior);
    let l0 = Math.log(1 - p.prior);
    for (const v of cell) {
      const r = p.raters[v.rater]!;
      l1 += Math.log(v.value === 1 ? r.sensitivity : 1 - r.sensitivity);
      l0 += Math.log(v.value === 1 ? 1 - r.specificity : r.specificity);
    }
    const top = Math.max(l0, l1);
    logLikelihood += top + Math.log(Math.exp(l0 - top) + Math.exp(l1 - top));
    return 1 / (1 + Math.exp(l0 - l1));
  });
  return { posteriors, logLikelihood };
}

/** Runs EM from the soft majority vote (share of positive votes per item; a tie starts at 0.5). */
export function estimateDawidSkene(m: VoteMatrix, options: DawidSkeneOptions = {}): DawidSkeneResult {
  const { tolerance, maxIterations, smoothing } = { ...DAWID_SKENE_DEFAULTS, ...options };
  let posteriors = computePositiveShares(m);
  let params = estimateParameters(m, posteriors, smoothing);
  const objective: number[] = [];
  let converged = false;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    const e = inferPosteriors(m, params);
    objective.push(e.logLikelihood + computeLogPrior(params, smoothing));
    const moved = e.posteriors.reduce((a, t, i) => Math.max(a, Math.abs(t - posteriors[i]!)), 0);
    posteriors = e.posteriors;
    params = estimateParameters(m, posteriors, smoothing);
    if (moved < tolerance) {
      converged = true;
      break;
    }
  }
  // The returned rates are the M-step of the returned posteriors, so the two describe one state.
  return { posteriors, prior: params.prior, raters: params.raters, iterations, converged, objective };
}
