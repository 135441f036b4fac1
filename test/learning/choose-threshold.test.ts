import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, fitPlatt } from '../../src/learning/calibrate.ts';
import { chooseThreshold } from '../../src/learning/choose-threshold.ts';
import { groupedCrossValidate } from '../../src/learning/grouped-cv.ts';
import { mulberry32 } from '../../src/common/stats/random.ts';
import { synthetic } from './synthetic.ts';

describe('chooseThreshold: Youden on out-of-fold scores, as training/bcc_mtl/metrics.py youden', () => {
  it('picks the score maximising sensitivity + specificity - 1, the lowest on ties', () => {
    const labels = [0, 0, 0, 1, 0, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    // t = 0.4: sens 1, spec 3/4 -> J 0.75; t = 0.6: sens 2/3, spec 1 -> J 0.667.
    const t = chooseThreshold(labels, scores);
    assert.equal(t.threshold, 0.4);
    assert.equal(t.sensitivity, 1);
    assert.equal(t.specificity, 0.75);
    // Ties: 0.3 and 0.5 both give J = 0.5 here; the lower wins.
    assert.equal(chooseThreshold([0, 1, 0, 1], [0.1, 0.3, 0.4, 0.5]).threshold, 0.3);
    // Tied scores move together.
    assert.equal(chooseThreshold([0, 1, 0, 1], [0.2, 0.5, 0.5, 0.9]).threshold, 0.5);
    assert.throws(() => chooseThreshold([1, 1], [0.1, 0.2]), RangeError);
  });

  it('on heavily imbalanced data (12 positives, 240 negatives) the out-of-fold threshold keeps both rates up', () => {
    const direction = [1, 1, 0, 0, 0, 0];
    const data = synthetic({ seed: 11, d: 6, positives: 12, negatives: 240, direction, shift: 2.5 });
    const cv = groupedCrossValidate(data.rows, data.labels, data.groups, { seed: 3, l2: 1, folds: 4, resamples: 100 });
    const t = chooseThreshold(data.labels, cv.scores);
    assert.ok(t.sensitivity >= 0.75, `sensitivity ${t.sensitivity} at ${t.threshold}`);
    assert.ok(t.specificity >= 0.75, `specificity ${t.specificity} at ${t.threshold}`);
    // Class-balanced heads put the cut near 0.5, not near the 5% prior.
    assert.ok(t.threshold > 0.15 && t.threshold < 0.9, `threshold ${t.threshold}`);
  });
});

describe('fitPlatt: Platt scaling on out-of-fold probabilities, applied by model/calibration.ts', () => {
  it('recovers a known slope and intercept and applies through calibrate()', () => {
    const u = mulberry32(5);
    const probabilities: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const z = 6 * u() - 3;
      probabilities.push(1 / (1 + Math.exp(-z)));
      // True P(y = 1) = sigmoid(0.5 z - 1).
      labels.push(u() < 1 / (1 + Math.exp(-(0.5 * z - 1))) ? 1 : 0);
    }
    const platt = fitPlatt(labels, probabilities);
    assert.equal(platt.method, 'platt');
    assert.ok(Math.abs(platt.slope - 0.5) < 0.1, `slope ${platt.slope}`);
    assert.ok(Math.abs(platt.intercept + 1) < 0.15, `intercept ${platt.intercept}`);
    const expected = 1 / (1 + Math.exp(-(platt.slope * Math.log(0.7 / 0.3) + platt.intercept)));
    assert.ok(Math.abs(calibrate(0.7, platt) - expected) < 1e-12);
  });

  it('leaves calibrated scores alone: slope ~1, intercept ~0', () => {
    const u = mulberry32(6);
    const probabilities = Array.from({ length: 4000 }, () => 0.05 + 0.9 * u());
    const labels = probabilities.map((p) => (u() < p ? 1 : 0));
    const platt = fitPlatt(labels, probabilities);
    assert.ok(Math.abs(platt.slope - 1) < 0.15 && Math.abs(platt.intercept) < 0.15, JSON.stringify(platt));
  });
});
