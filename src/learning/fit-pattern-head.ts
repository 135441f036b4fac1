/**
 * The whole fit of one learned pattern head, in the order the shipped heads were made
 * (training/bcc_mtl/pipeline.py): lesion-grouped out-of-fold logits -> AUC with its grouped
 * bootstrap CI -> Platt fitted on the out-of-fold logits -> Youden threshold on the out-of-fold
 * calibrated probabilities -> the final head fitted on every row. Pure and deterministic for a seed.
 */
import type { AucEstimate } from '../common/stats/confidence.ts';
import type { PlattCalibration } from './calibrate.ts';
import { fitPlatt } from './calibrate.ts';
import type { YoudenThreshold } from './choose-threshold.ts';
import { chooseThreshold } from './choose-threshold.ts';
import type { FeatureRow, LogisticHead } from './fit-logistic-head.ts';
import { fitLogisticHead } from './fit-logistic-head.ts';
import { groupedCrossValidate } from './grouped-cv.ts';

export interface PatternHeadOptions {
  readonly folds: number;
  readonly seed: number;
  /** Bootstrap resamples of the AUC interval; default groupedCrossValidate's (2000). */
  readonly resamples?: number;
}

export interface PatternHeadFit {
  /** Fitted on every row: what the candidate manifest carries. */
  readonly head: LogisticHead;
  readonly calibration: PlattCalibration;
  /** On the calibrated scale, rounded to 6 decimals as training writes thresholds. */
  readonly threshold: YoudenThreshold;
  readonly auc: AucEstimate;
  readonly foldOf: Int32Array;
  readonly oofLogits: Float64Array;
  /** Out-of-fold probabilities after Platt: what the threshold was chosen on. */
  readonly oofCalibrated: Float64Array;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Platt over a logit exactly as the runtime applies it (model/learned-heads.ts learnedHeadProbability). */
export function plattOfLogit(calibration: PlattCalibration, logit: number): number {
  return sigmoid(calibration.slope * logit + calibration.intercept);
}

/** Throws a RangeError when the rows cannot be fitted (a class missing from a training split, too few groups). */
export function fitPatternHead(rows: readonly FeatureRow[], labels: readonly number[], groups: readonly string[], options: PatternHeadOptions): PatternHeadFit {
  const cv = groupedCrossValidate(rows, labels, groups, {
    folds: options.folds,
    seed: options.seed,
    ...(options.resamples === undefined ? {} : { resamples: options.resamples }),
  });
  const calibration = fitPlatt(labels, cv.scores);
  const oofCalibrated = cv.logits.map((t) => plattOfLogit(calibration, t));
  const youden = chooseThreshold(labels, oofCalibrated);
  const threshold = { ...youden, threshold: Math.round(youden.threshold * 1e6) / 1e6 };
  const head = fitLogisticHead(rows, labels);
  return { head, calibration, threshold, auc: cv.auc, foldOf: cv.foldOf, oofLogits: cv.logits, oofCalibrated };
}
