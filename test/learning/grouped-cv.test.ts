import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupedCrossValidate, groupedFolds } from '../../src/learning/grouped-cv.ts';
import { rocAuc } from '../../src/common/stats/roc.ts';
import { synthetic } from './synthetic.ts';

describe('groupedCrossValidate: lesion-grouped out-of-fold scores and AUC', () => {
  const d = 20;
  const direction = Array.from({ length: d }, (_, j) => (j === 0 ? 1 : 0));

  it('never splits a group across folds, uses every fold, and is deterministic for a seed', () => {
    const { labels, groups } = synthetic({ seed: 1, d: 2, positives: 45, negatives: 90, direction, shift: 0, perGroup: 3 });
    const folds = groupedFolds(groups, labels, 5, 42);
    const foldOfGroup = new Map<string, number>();
    groups.forEach((g, i) => {
      const seen = foldOfGroup.get(g);
      assert.ok(seen === undefined || seen === folds[i], `group ${g} is in folds ${seen} and ${folds[i]}`);
      foldOfGroup.set(g, folds[i]!);
    });
    assert.deepEqual(new Set(folds), new Set([0, 1, 2, 3, 4]));
    // Every fold holds positives (15 positive groups dealt over 5 folds).
    for (let f = 0; f < 5; f++) {
      assert.ok(labels.some((y, i) => y === 1 && folds[i] === f), `fold ${f} has no positive`);
    }
    assert.deepEqual(groupedFolds(groups, labels, 5, 42), folds);
    assert.notDeepEqual(groupedFolds(groups, labels, 5, 43), folds);
    assert.throws(() => groupedFolds(groups.slice(0, 3), labels.slice(0, 3), 5, 1), RangeError);
  });

  it('scores each row by a head that never saw its group: AUC near 1 on signal, CI from the grouped bootstrap', () => {
    const data = synthetic({ seed: 2, d, positives: 60, negatives: 90, direction, shift: 4, perGroup: 3 });
    const cv = groupedCrossValidate(data.rows, data.labels, data.groups, { seed: 7, l2: 1, resamples: 300 });
    assert.equal(cv.scores.length, 150);
    assert.ok(cv.auc.value > 0.95, `AUC ${cv.auc.value}`);
    assert.equal(cv.auc.value, rocAuc(data.labels, Array.from(cv.scores)));
    assert.ok(cv.auc.ci95[0] <= cv.auc.value && cv.auc.value <= cv.auc.ci95[1]);
    assert.ok(cv.auc.ci95[0] > 0.9, `CI ${cv.auc.ci95.join('-')}`);
  });

  it('gives AUC near 0.5 with a CI over 0.5 on noise (no leakage of group identity)', () => {
    // Rows of a group are near-copies: a split group would let the head memorise it and inflate the AUC.
    const base = synthetic({ seed: 3, d, positives: 40, negatives: 40, direction, shift: 0 });
    const rows = base.rows.flatMap((r, i) => [0, 1, 2].map((k) => Float32Array.from(r, (x, j) => x + 0.01 * Math.sin(i + k + j))));
    const labels = base.labels.flatMap((y) => [y, y, y]);
    const groups = base.groups.flatMap((g) => [g, g, g]);
    const cv = groupedCrossValidate(rows, labels, groups, { seed: 9, l2: 0.1, resamples: 300 });
    assert.ok(Math.abs(cv.auc.value - 0.5) < 0.15, `AUC ${cv.auc.value}`);
    assert.ok(cv.auc.ci95[0] < 0.5 && cv.auc.ci95[1] > 0.5, `CI ${cv.auc.ci95.join('-')}`);
  });
});
