/**
 * A binary classifier at one threshold: predicted positive when score >= threshold, the same rule
 * the service applies (src/model/findings.ts, src/rules/triage.ts).
 */
import type { Proportion } from '../../common/stats/confidence.ts';
import { wilson } from '../../common/stats/confidence.ts';

export interface OperatingPoint {
  readonly threshold: number;
  /** True positives among positives. */
  readonly sensitivity: Proportion;
  /** True negatives among negatives. */
  readonly specificity: Proportion;
  readonly accuracy: Proportion;
}

export function atThreshold(labels: readonly number[], scores: readonly number[], threshold: number): OperatingPoint {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels has ${labels.length} values, scores has ${scores.length}`);
  }
  let tp = 0;
  let tn = 0;
  let positives = 0;
  labels.forEach((y, i) => {
    const predicted = scores[i]! >= threshold;
    if (y === 1) {
      positives++;
      tp += predicted ? 1 : 0;
    } else if (y === 0) {
      tn += predicted ? 0 : 1;
    } else {
      throw new RangeError(`labels[${i}] is ${y}; labels must be 0 or 1`);
    }
  });
  const negatives = labels.length - positives;
  return {
    threshold,
    sensitivity: wilson(tp, positives),
    specificity: wilson(tn, negatives),
    accuracy: wilson(tp + tn, labels.length),
  };
}
