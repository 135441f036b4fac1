import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atThreshold } from '../../../src/tools/evaluation/operating-point.ts';

describe('atThreshold', () => {
  it('counts a score equal to the threshold as positive', () => {
    const labels = [1, 1, 1, 0, 0, 0, 0];
    const scores = [0.9, 0.5, 0.2, 0.5, 0.4, 0.1, 0.6];
    const op = atThreshold(labels, scores, 0.5);
    assert.equal(op.threshold, 0.5);
    // TP: 0.9, 0.5. TN: 0.4, 0.1 (0.5 and 0.6 are false positives).
    assert.deepEqual([op.sensitivity.k, op.sensitivity.n], [2, 3]);
    assert.deepEqual([op.specificity.k, op.specificity.n], [2, 4]);
    assert.deepEqual([op.accuracy.k, op.accuracy.n], [4, 7]);
    assert.equal(op.sensitivity.value, 2 / 3);
    assert.ok(op.sensitivity.ci95[0] < 2 / 3 && op.sensitivity.ci95[1] > 2 / 3);
  });

  it('reports NaN sensitivity when there are no positives', () => {
    const op = atThreshold([0, 0], [0.1, 0.9], 0.5);
    assert.equal(op.sensitivity.n, 0);
    assert.ok(Number.isNaN(op.sensitivity.value));
    assert.deepEqual([op.specificity.k, op.specificity.n], [1, 2]);
  });

  it('rejects labels other than 0/1', () => {
    assert.throws(() => atThreshold([0, 3], [0.1, 0.2], 0.5), /labels\[1\] is 3/);
  });
});
