import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CamMap } from '../../../src/explain/cam-map.ts';
import type { LesionMask } from '../../../src/tools/evaluation/localisation.ts';
import { localiseHeatmap, summariseLocalisation } from '../../../src/tools/evaluation/localisation.ts';

/** A 7x7 map, cold everywhere except one hot cell. */
function hotCell(x: number, y: number): CamMap {
  const data = new Float32Array(49).fill(-2);
  data[y * 7 + x] = 3;
  return { width: 7, height: 7, data };
}

/** A mask of the given size with the lesion (255) in the rectangle [x0, x1) x [y0, y1). */
function rectMask(width: number, height: number, x0: number, y0: number, x1: number, y1: number): LesionMask {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      data[y * width + x] = 255;
    }
  }
  return { width, height, data };
}

describe('localiseHeatmap', () => {
  const whole = { left: 0, top: 0, width: 70, height: 70 };
  const lesionTopLeft = rectMask(70, 70, 0, 0, 30, 30);

  it('scores higher inside the lesion when the hot cell is on it', () => {
    const r = localiseHeatmap(hotCell(1, 1), whole, lesionTopLeft);
    assert.ok(r);
    assert.ok(r.inside > r.outside, `inside ${r.inside} vs outside ${r.outside}`);
    assert.ok(r.inside <= 1 && r.outside >= 0);
  });

  it('scores lower inside the lesion when the hot cell is elsewhere', () => {
    const r = localiseHeatmap(hotCell(5, 5), whole, lesionTopLeft);
    assert.ok(r);
    assert.ok(r.inside < r.outside, `inside ${r.inside} vs outside ${r.outside}`);
  });

  it('treats mask values up to 127 as background', () => {
    // Lesion (255) top-left, cold; a grey (127) patch bottom-right under the hot cell.
    const mask = rectMask(70, 70, 0, 0, 30, 30);
    for (let y = 45; y < 70; y++) {
      mask.data.fill(127, y * 70 + 45, y * 70 + 70);
    }
    const r = localiseHeatmap(hotCell(5, 5), whole, mask);
    assert.ok(r && r.inside < r.outside, `inside ${r?.inside} vs outside ${r?.outside}`);
  });

  it('only looks where the network looked (a centre-square region)', () => {
    // 100x70 image, centre square 70x70 from x = 15. Lesion only in the left strip the network never saw.
    const region = { left: 15, top: 0, width: 70, height: 70 };
    assert.equal(localiseHeatmap(hotCell(1, 1), region, rectMask(100, 70, 0, 0, 15, 70)), undefined);
    // A lesion at the region's top-left corner is found at the hot cell's place in region coordinates.
    const r = localiseHeatmap(hotCell(1, 1), region, rectMask(100, 70, 15, 0, 45, 30));
    assert.ok(r && r.inside > r.outside);
  });

  it('is undefined when the lesion covers everything', () => {
    assert.equal(localiseHeatmap(hotCell(1, 1), whole, rectMask(70, 70, 0, 0, 70, 70)), undefined);
  });

  it('rejects a region outside the mask', () => {
    assert.throws(() => localiseHeatmap(hotCell(1, 1), { left: 10, top: 0, width: 70, height: 70 }, lesionTopLeft), /outside the 70x70 mask/);
  });
});

describe('summariseLocalisation', () => {
  it('reports the ratio of mean inside to mean outside, and the median per-image ratio', () => {
    const s = summariseLocalisation([
      { inside: 0.6, outside: 0.2 },
      { inside: 0.4, outside: 0.4 },
    ]);
    assert.equal(s.n, 2);
    assert.ok(Math.abs(s.meanInside - 0.5) < 1e-12);
    assert.ok(Math.abs(s.meanOutside - 0.3) < 1e-12);
    assert.ok(Math.abs(s.ratio - 0.5 / 0.3) < 1e-12);
    // Per image: 3 and 1.
    assert.ok(Math.abs(s.medianPerImageRatio - 2) < 1e-12);
  });

  it('gives a ratio above 1 for hot-inside maps and below 1 for hot-outside maps', () => {
    const whole = { left: 0, top: 0, width: 70, height: 70 };
    const mask = rectMask(70, 70, 0, 0, 30, 30);
    const inside = summariseLocalisation([localiseHeatmap(hotCell(1, 1), whole, mask)!]);
    const outside = summariseLocalisation([localiseHeatmap(hotCell(5, 5), whole, mask)!]);
    assert.ok(inside.ratio > 1, `ratio ${inside.ratio}`);
    assert.ok(outside.ratio < 1, `ratio ${outside.ratio}`);
  });

  it('is NaN with no images', () => {
    const s = summariseLocalisation([]);
    assert.equal(s.n, 0);
    assert.ok(Number.isNaN(s.ratio));
  });
});
