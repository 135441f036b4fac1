import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapAuc, wilson } from '../../../src/common/stats/confidence.ts';
import { mulberry32 } from '../../../src/common/stats/random.ts';
import { rocAuc } from '../../../src/common/stats/roc.ts';

function close(actual: number, expected: number, tol = 5e-5): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);
}

describe('wilson', () => {
  it('matches the published interval for 8 of 10', () => {
    const w = wilson(8, 10);
    assert.equal(w.value, 0.8);
    assert.equal(w.k, 8);
    assert.equal(w.n, 10);
    close(w.ci95[0], 0.4902);
    close(w.ci95[1], 0.9433);
  });

  it('matches the model card, computed by the training script (107 of 112)', () => {
    const w = wilson(107, 112);
    close(w.ci95[0], 0.8997);
    close(w.ci95[1], 0.9808);
  });

  it('stays inside [0, 1] at the extremes', () => {
    const none = wilson(0, 10);
    assert.equal(none.ci95[0], 0);
    close(none.ci95[1], 0.2775);
    const all = wilson(10, 10);
    close(all.ci95[0], 0.7225);
    assert.equal(all.ci95[1], 1);
  });

  it('is NaN with n = 0 and rejects impossible counts', () => {
    const w = wilson(0, 0);
    assert.ok(Number.isNaN(w.value) && Number.isNaN(w.ci95[0]) && Number.isNaN(w.ci95[1]));
    assert.throws(() => wilson(3, 2), /0 <= k <= n/);
    assert.throws(() => wilson(1.5, 2), /integers/);
  });
});

describe('mulberry32', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b()),
      xs,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c()),
      xs,
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});

describe('bootstrapAuc', () => {
  const labels = [0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1];
  const scores = [0.1, 0.8, 0.4, 0.35, 0.9, 0.2, 0.6, 0.7, 0.3, 0.55, 0.45, 0.5, 0.65, 0.15, 0.75, 0.95];
  const groups = labels.map((_, i) => `lesion-${Math.floor(i / 2)}`);

  it('is deterministic for a seed', () => {
    const a = bootstrapAuc(labels, scores, groups, { seed: 7, resamples: 500 });
    const b = bootstrapAuc(labels, scores, groups, { seed: 7, resamples: 500 });
    const c = bootstrapAuc(labels, scores, groups, { seed: 8, resamples: 500 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.ci95, c.ci95);
  });

  it('reports the point AUC, counts and an interval around it', () => {
    const r = bootstrapAuc(labels, scores, groups, { seed: 1 });
    assert.equal(r.value, rocAuc(labels, scores));
    assert.equal(r.n, 16);
    assert.equal(r.positives, 8);
    assert.ok(r.ci95[0] < r.value && r.value < r.ci95[1], `${r.ci95.join('-')} should contain ${r.value}`);
    assert.ok(r.ci95[0] >= 0 && r.ci95[1] <= 1);
  });

  it('resamples whole groups: one group holding every image gives no spread at all', () => {
    const r = bootstrapAuc(
      labels,
      scores,
      labels.map(() => 'one lesion'),
      { seed: 3, resamples: 200 },
    );
    assert.deepEqual(r.ci95, [r.value, r.value]);
  });

  it('gives NaN bounds when no resample holds both classes', () => {
    const r = bootstrapAuc([1, 1], [0.2, 0.3], ['a', 'b'], { seed: 1, resamples: 50 });
    assert.ok(Number.isNaN(r.value) && Number.isNaN(r.ci95[0]) && Number.isNaN(r.ci95[1]));
  });
});
