import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderByScore, rocAuc, rocCurve, weightedAuc } from '../../../src/common/stats/roc.ts';

/** Area under a piecewise-linear curve: checks the curve against the AUC computed another way. */
function trapezoid(points: readonly { fpr: number; tpr: number }[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    area += ((points[i]!.fpr - points[i - 1]!.fpr) * (points[i]!.tpr + points[i - 1]!.tpr)) / 2;
  }
  return area;
}

describe('rocAuc', () => {
  it('counts the share of positive-negative pairs ranked correctly', () => {
    // Pairs: 0.35 beats 0.1 but not 0.4; 0.8 beats both -> 3 of 4.
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  });

  it('gives a tied pair half a win (average ranks)', () => {
    // 0.5 ties 0.5 (0.5) and beats 0.2 (1); 0.9 beats both (2) -> 3.5 / 4.
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875);
    // Two positives tie one negative at 0.3: 0.5 + 1 + 2 + 0.5 + 1 = 5 of 6 pairs.
    assert.equal(rocAuc([1, 0, 1, 0, 1], [0.3, 0.3, 0.7, 0.1, 0.3]), 5 / 6);
    assert.equal(rocAuc([1, 0, 1, 0], [0.4, 0.4, 0.4, 0.4]), 0.5);
  });

  it('is 1 for a perfect ranking and 0 for an inverted one', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1);
    assert.equal(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0);
  });

  it('is NaN when a class is missing', () => {
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.8])));
    assert.ok(Number.isNaN(rocAuc([0, 0], [0.2, 0.8])));
    assert.ok(Number.isNaN(rocAuc([], [])));
  });

  it('rejects labels other than 0/1 and mismatched lengths', () => {
    assert.throws(() => rocAuc([0, 2], [0.1, 0.2]), /labels\[1\] is 2/);
    assert.throws(() => rocAuc([0, 1], [0.1]), /labels has 2 values, scores has 1/);
  });
});

describe('weightedAuc', () => {
  it('with weights equals the AUC of the rows repeated that many times', () => {
    const labels = [0, 1, 0, 1, 1];
    const scores = [0.2, 0.6, 0.6, 0.1, 0.9];
    const weights = [2, 0, 1, 3, 1];
    const expanded = labels.flatMap((y, i) => Array.from({ length: weights[i]! }, () => ({ y, s: scores[i]! })));
    const expected = rocAuc(
      expanded.map((e) => e.y),
      expanded.map((e) => e.s),
    );
    assert.equal(weightedAuc(labels, scores, orderByScore(scores), weights), expected);
  });
});

describe('rocCurve', () => {
  it('steps through every distinct threshold from (0,0) to (1,1)', () => {
    const curve = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    assert.deepEqual(curve, [
      { fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY },
      { fpr: 0, tpr: 0.5, threshold: 0.8 },
      { fpr: 0.5, tpr: 0.5, threshold: 0.4 },
      { fpr: 0.5, tpr: 1, threshold: 0.35 },
      { fpr: 1, tpr: 1, threshold: 0.1 },
    ]);
  });

  it('moves diagonally through ties, so its area equals the tie-aware AUC', () => {
    const labels = [1, 0, 1, 0, 1, 0, 0];
    const scores = [0.3, 0.3, 0.7, 0.1, 0.3, 0.9, 0.05];
    const curve = rocCurve(labels, scores);
    assert.equal(curve.length, 6);
    assert.ok(Math.abs(trapezoid(curve) - rocAuc(labels, scores)) < 1e-12);
  });

  it('is empty when a class is missing', () => {
    assert.deepEqual(rocCurve([1, 1], [0.1, 0.2]), []);
  });
});
