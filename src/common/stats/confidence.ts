/**
 * Confidence intervals: Wilson score intervals for proportions and a lesion-grouped bootstrap for
 * AUC. Pure and deterministic for a seed.
 */
import { quantile } from './quantile.ts';
import { mulberry32 } from './random.ts';
import { orderByScore, rocAuc, weightedAuc } from './roc.ts';

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export type Interval = readonly [number, number];

/** A proportion k/n with its Wilson 95% interval; value and bounds are NaN when n = 0. */
export interface Proportion {
  readonly value: number;
  readonly ci95: Interval;
  readonly k: number;
  readonly n: number;
}

export interface AucEstimate {
  readonly value: number;
  readonly ci95: Interval;
  readonly n: number;
  readonly positives: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed: number;
}

/** Wilson score interval: stays inside [0, 1] and behaves at k = 0 or k = n, unlike the Wald one. */
export function wilson(k: number, n: number): Proportion {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`wilson needs integers 0 <= k <= n, got k=${k}, n=${n}`);
  }
  if (n === 0) {
    return { value: Number.NaN, ci95: [Number.NaN, Number.NaN], k, n };
  }
  const z2 = Z95 * Z95;
  const p = k / n;
  const d = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / d;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / d;
  // At k = 0 and k = n the bounds are exactly 0 and 1; rounding would otherwise give 0.9999999999999999.
  const lo = k === 0 ? 0 : Math.max(0, centre - half);
  const hi = k === n ? 1 : Math.min(1, centre + half);
  return { value: p, ci95: [lo, hi], k, n };
}

/**
 * AUC with a 95% percentile interval from resampling whole lesion groups with replacement: images
 * of one lesion are correlated, so resampling images would make the interval too narrow.
 * Resamples that lose a class are dropped (as in training/train.py).
 */
export function bootstrapAuc(
  labels: readonly number[],
  scores: readonly number[],
  groups: readonly string[],
  options: BootstrapOptions,
): AucEstimate {
  if (groups.length !== labels.length) {
    throw new RangeError(`groups has ${groups.length} values, labels has ${labels.length}`);
  }
  const value = rocAuc(labels, scores);
  const positives = labels.filter((y) => y === 1).length;
  const members = groupMembers(groups);
  const order = orderByScore(scores);
  const weights = new Float64Array(labels.length);
  const random = mulberry32(options.seed);
  const estimates: number[] = [];
  const resamples = options.resamples ?? 2000;
  for (let r = 0; r < resamples && members.length > 0; r++) {
    weights.fill(0);
    // As many draws, with replacement, as there are members.
    for (let draws = members.length; draws > 0; draws--) {
      const pick = members[Math.floor(random() * members.length)]!;
      for (const i of pick) {
        weights[i]! += 1;
      }
    }
    const auc = weightedAuc(labels, scores, order, weights);
    if (!Number.isNaN(auc)) {
      estimates.push(auc);
    }
  }
  return { value, ci95: [quantile(estimates, 0.025), quantile(estimates, 0.975)], n: labels.length, positives };
}

function groupMembers(groups: readonly string[]): readonly (readonly number[])[] {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) {
      list.push(i);
    } else {
      byGroup.set(g, [i]);
    }
  });
  return [...byGroup.values()];
}
