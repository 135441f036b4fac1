/**
 * Lesion-grouped k-fold cross-validation of a pattern head: every image of one group (a lesion, or
 * an image's own id when it has no lesion) falls in one fold, so no fold is scored by a head that saw
 * another image of the same lesion. Out-of-fold scores, then the AUC with the lesion-grouped
 * bootstrap 95% CI of common/stats/confidence.ts. Pure and deterministic for a seed.
 */
import type { AucEstimate } from '../common/stats/confidence.ts';
import { bootstrapAuc } from '../common/stats/confidence.ts';
import { mulberry32 } from '../common/stats/random.ts';
import type { FeatureRow, LogisticHeadOptions } from './fit-logistic-head.ts';
import { fitLogisticHead, headLogit } from './fit-logistic-head.ts';

export interface GroupedCvOptions extends LogisticHeadOptions {
  /** Folds; default 5 (training's lesion-grouped CV). */
  readonly folds?: number;
  readonly seed: number;
  /** Bootstrap resamples for the AUC interval; default 2000. */
  readonly resamples?: number;
}

export interface GroupedCvResult {
  /** Fold of each row, 0..folds-1. */
  readonly foldOf: Int32Array;
  /** Out-of-fold logit and probability of each row (from the head fitted without its fold). */
  readonly logits: Float64Array;
  readonly scores: Float64Array;
  /** AUC of the out-of-fold probabilities, 95% CI by resampling whole groups. */
  readonly auc: AucEstimate;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Deals whole groups to `folds` folds: groups holding a positive are shuffled (seeded) and dealt
 * round-robin, then the all-negative groups continue the deal, so every fold gets its share of
 * positives whenever there are at least `folds` positive groups. Groups are first sorted by id, so
 * the assignment depends on the set of groups and the seed, not on row order.
 */
export function groupedFolds(groups: readonly string[], labels: readonly number[], folds: number, seed: number): Int32Array {
  if (groups.length !== labels.length) {
    throw new RangeError(`groups has ${groups.length} values, labels has ${labels.length}`);
  }
  if (!Number.isInteger(folds) || folds < 2) {
    throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  }
  const positive = new Map<string, boolean>();
  groups.forEach((g, i) => positive.set(g, (positive.get(g) ?? false) || labels[i] === 1));
  const ids = [...positive.keys()].sort();
  if (ids.length < folds) {
    throw new RangeError(`${ids.length} groups cannot fill ${folds} folds`);
  }
  const random = mulberry32(seed);
  const dealt = [...shuffle(ids.filter((g) => positive.get(g)), random), ...shuffle(ids.filter((g) => !positive.get(g)), random)];
  const foldOfGroup = new Map(dealt.map((g, k) => [g, k % folds]));
  return Int32Array.from(groups, (g) => foldOfGroup.get(g)!);
}

/**
 * For each fold, fits the head on the other folds' rows and scores the fold's rows. Throws when a
 * training split lacks a class (too few positive groups for the folds).
 */
export function groupedCrossValidate(
  rows: readonly FeatureRow[],
  labels: readonly number[],
  groups: readonly string[],
  options: GroupedCvOptions,
): GroupedCvResult {
  if (rows.length !== labels.length) {
    throw new RangeError(`rows has ${rows.length} values, labels has ${labels.length}`);
  }
  const folds = options.folds ?? 5;
  const foldOf = groupedFolds(groups, labels, folds, options.seed);
  const logits = new Float64Array(rows.length);
  for (let f = 0; f < folds; f++) {
    const train = rows.flatMap((_, i) => (foldOf[i] === f ? [] : [i]));
    const head = fitLogisticHead(
      train.map((i) => rows[i]!),
      train.map((i) => labels[i]!),
      options,
    );
    foldOf.forEach((g, i) => {
      if (g === f) {
        logits[i] = headLogit(head, rows[i]!);
      }
    });
  }
  const scores = logits.map((t) => 1 / (1 + Math.exp(-t)));
  const auc = bootstrapAuc(labels, Array.from(scores), groups, {
    seed: options.seed,
    ...(options.resamples === undefined ? {} : { resamples: options.resamples }),
  });
  return { foldOf, logits, scores, auc };
}
