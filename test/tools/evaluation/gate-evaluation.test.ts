import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../src/config.ts';
import { loadGateConfig } from '../../../src/gate/gate-config.ts';
import type { MeasuredImage } from '../../../src/tools/evaluation/gate-evaluation.ts';
import { catchRate, pearson, positionOfMask, rejectionRates, splitHalf, suggestLimit } from '../../../src/tools/evaluation/gate-evaluation.ts';
import type { QualityMeasures } from '../../../src/gate/quality-measures.ts';

const base: QualityMeasures = { shorterSide: 480, sharpness: 100, highlightShare: 0, shadowShare: 0, meanLuminance: 150, brightLuminance: 200, lesion: null };
const img = (k: number, m: Partial<QualityMeasures>): MeasuredImage => ({ image: `i${k}`, group: `g${k}`, source: 's', measures: { ...base, ...m } });

describe('gate evaluation arithmetic', () => {
  it('suggestLimit spends the false-rejection budget and no more', () => {
    const originals = Array.from({ length: 100 }, (_, k) => img(k, { sharpness: k + 1 }));
    // 2% of 100: two values (1, 2) may fall below the limit; the limit is the third value.
    assert.equal(suggestLimit(originals, { measure: 'sharpness', direction: 'min' }, 0.02), 3);
    assert.equal(suggestLimit(originals, { measure: 'sharpness', direction: 'max' }, 0.02), 98);
    assert.equal(suggestLimit([], { measure: 'sharpness', direction: 'min' }, 0.02), null);
  });

  it('suggestLimit loosens the limit until no source pays more than its own budget', () => {
    // Source b: ten images, two of them clipped; overall 2 of 100 = 2%, but 20% of source b.
    const originals = [
      ...Array.from({ length: 90 }, (_, k) => ({ ...img(k, { highlightShare: 0 }), source: 'a' })),
      ...Array.from({ length: 10 }, (_, k) => ({ ...img(100 + k, { highlightShare: k >= 8 ? 0.3 + k / 100 : 0.01 }), source: 'b' })),
    ];
    assert.equal(suggestLimit(originals, { measure: 'highlightShare', direction: 'max' }, 0.02), 0.01);
    // 10% of source b may fail: one of the two; the limit moves to the lower clipped value.
    assert.equal(suggestLimit(originals, { measure: 'highlightShare', direction: 'max' }, 0.02, 0.1), 0.38);
  });

  it('splitHalf is stable for a seed and splits roughly in half', () => {
    const groups = Array.from({ length: 2000 }, (_, k) => `HAM_${k}`);
    const a = groups.filter((g) => splitHalf(g, 7) === 'a').length;
    assert.ok(a > 900 && a < 1100, String(a));
    assert.deepEqual(groups.map((g) => splitHalf(g, 7)), groups.map((g) => splitHalf(g, 7)));
    assert.notDeepEqual(groups.map((g) => splitHalf(g, 7)), groups.map((g) => splitHalf(g, 8)));
  });

  it('counts rejections overall and per check, and catches by reason', async () => {
    const config = await loadGateConfig(resolve(PROJECT_ROOT, 'models/image-gate.json'));
    const images = [img(1, {}), img(2, { sharpness: 0 }), img(3, { sharpness: 0, highlightShare: 0.9 }), img(4, {})];
    const r = rejectionRates(images, config);
    assert.equal(r.overall.k, 2);
    assert.equal(r.byCheck.blurred?.k, 2);
    assert.equal(r.byCheck['over-exposed']?.k, 1);
    const c = catchRate(images, config, 'over-exposed');
    assert.equal(c.thisReason.k, 1);
    assert.equal(c.anyReason.k, 2);
  });

  it('positionOfMask measures an outline as the lesion finder does', () => {
    const g = 4;
    // Bottom-right 2x2 block.
    const cells = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    const p = positionOfMask(cells, g)!;
    assert.ok(Math.abs(p.offset - Math.SQRT2 / 2) < 1e-12, String(p.offset));
    assert.equal(p.area, 0.25);
    assert.equal(p.borderShare, 3 / 12);
    assert.equal(positionOfMask(new Uint8Array(16), g), null);
  });

  it('pearson is 1 for a line and -1 for its mirror', () => {
    assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
    assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
  });
});
