import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitLogisticHead, headLogit, headProbability, standardiser } from '../../src/learning/fit-logistic-head.ts';
import { rocAuc } from '../../src/common/stats/roc.ts';
import { synthetic } from './synthetic.ts';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    ab += a[j]! * b[j]!;
    aa += a[j]! * a[j]!;
    bb += b[j]! * b[j]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('fitLogisticHead: class-balanced L2 logistic regression, folded into the original space', () => {
  const d = 40;
  const direction = Array.from({ length: d }, (_, j) => (j < 3 ? 1 : 0));

  it('recovers a known separating direction: AUC near 1 on held-out separable data', () => {
    const train = synthetic({ seed: 1, d, positives: 60, negatives: 60, direction, shift: 3 });
    const test = synthetic({ seed: 2, d, positives: 60, negatives: 60, direction, shift: 3 });
    const head = fitLogisticHead(train.rows, train.labels, { l2: 1 });
    assert.ok(head.converged, `not converged after ${head.iterations} iterations`);
    const auc = rocAuc(test.labels, test.rows.map((r) => headLogit(head, r)));
    assert.ok(auc > 0.97, `held-out AUC ${auc}`);
    // The standardised weights point along the signal (first three features).
    assert.ok(cosine(head.standardisedWeights, direction) > 0.9, `cosine ${cosine(head.standardisedWeights, direction)}`);
  });

  it('learns nothing from noise: held-out AUC near 0.5', () => {
    const zero = new Array<number>(d).fill(0);
    const train = synthetic({ seed: 3, d, positives: 100, negatives: 100, direction: zero, shift: 0 });
    const test = synthetic({ seed: 4, d, positives: 300, negatives: 300, direction: zero, shift: 0 });
    const head = fitLogisticHead(train.rows, train.labels, { l2: 1 });
    const auc = rocAuc(test.labels, test.rows.map((r) => headLogit(head, r)));
    assert.ok(Math.abs(auc - 0.5) < 0.08, `held-out AUC ${auc}`);
  });

  it('folded weights give the same logits as the standardised ones', () => {
    const { rows, labels } = synthetic({ seed: 5, d, positives: 30, negatives: 50, direction, shift: 1 });
    const head = fitLogisticHead(rows, labels);
    const { mean, std } = standardiser(rows);
    assert.deepEqual(Array.from(head.mean), Array.from(mean));
    for (const r of rows) {
      let standardised = head.standardisedBias;
      for (let j = 0; j < d; j++) {
        standardised += head.standardisedWeights[j]! * ((r[j]! - mean[j]!) / std[j]!);
      }
      assert.ok(Math.abs(headLogit(head, r) - standardised) < 1e-9, `${headLogit(head, r)} vs ${standardised}`);
    }
    // Linear: the logit of a mean row is the mean of the rows' logits (the CAM's mean is the image's logit).
    const meanRow = Float64Array.from(mean);
    const meanLogit = rows.reduce((a, r) => a + headLogit(head, r), 0) / rows.length;
    assert.ok(Math.abs(headLogit(head, meanRow) - meanLogit) < 1e-9);
  });

  it('is at a minimum of the stated objective: gradient ~0, and a larger l2 shrinks the weights', () => {
    const { rows, labels } = synthetic({ seed: 6, d: 10, positives: 20, negatives: 40, direction, shift: 1 });
    const l2 = 0.5;
    const head = fitLogisticHead(rows, labels, { l2 });
    // Gradient of sum_i s_i BCE + 0.5 l2 |v|^2 computed independently, on the standardised scale.
    const pos = labels.filter((y) => y === 1).length;
    const neg = labels.length - pos;
    const g = new Float64Array(11);
    rows.forEach((r, i) => {
      const zi = Array.from(r, (x, j) => (x - head.mean[j]!) / head.std[j]!);
      const t = zi.reduce((a, x, j) => a + x * head.standardisedWeights[j]!, head.standardisedBias);
      const res = (labels[i] === 1 ? 0.5 / pos : 0.5 / neg) * (1 / (1 + Math.exp(-t)) - labels[i]!);
      zi.forEach((x, j) => (g[j]! += res * x));
      g[10]! += res;
    });
    head.standardisedWeights.forEach((v, j) => (g[j]! += l2 * v));
    assert.ok(Math.max(...Array.from(g, Math.abs)) < 1e-7, `gradient ${Array.from(g).join(', ')}`);
    const norm = (w: Float64Array): number => Math.hypot(...w);
    assert.ok(norm(fitLogisticHead(rows, labels, { l2: 50 }).standardisedWeights) < norm(head.standardisedWeights));
  });

  it('balances the classes: on 15 positives against 300 negatives, probability 0.5 still splits them', () => {
    const { rows, labels } = synthetic({ seed: 7, d: 5, positives: 15, negatives: 300, direction, shift: 2.5 });
    const head = fitLogisticHead(rows, labels, { l2: 1 });
    const called = rows.map((r) => headProbability(head, r) >= 0.5);
    const sens = labels.filter((y, i) => y === 1 && called[i]).length / 15;
    const spec = labels.filter((y, i) => y === 0 && !called[i]).length / 300;
    // Unweighted, the 20:1 prior would pull the intercept down and most positives would fall below 0.5.
    assert.ok(sens >= 0.8, `sensitivity ${sens}`);
    assert.ok(spec >= 0.8, `specificity ${spec}`);
  });

  it('is deterministic and refuses bad input', () => {
    const { rows, labels } = synthetic({ seed: 8, d: 6, positives: 10, negatives: 10, direction, shift: 1 });
    assert.deepEqual(fitLogisticHead(rows, labels).weights, fitLogisticHead(rows, labels).weights);
    assert.throws(() => fitLogisticHead(rows, labels.map(() => 0)), RangeError);
    assert.throws(() => fitLogisticHead(rows, labels.slice(1)), RangeError);
    assert.throws(() => fitLogisticHead(rows, labels.map((y) => y * 2)), RangeError);
  });
});
