import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InputRaster } from '../../src/imaging/preprocess.ts';
import type { MeasureParams } from '../../src/gate/quality-measures.ts';
import { findLesion, laplacianVariance, luminance, measureQuality, measureValue, otsuThreshold } from '../../src/gate/quality-measures.ts';
import { lesionRgb } from './synthetic-lesion.ts';

const P: MeasureParams = { sharpnessMargin: 0.1, highlightLevel: 250, shadowLevel: 8, brightPercentile: 0.9, lesionGrid: 28, lesionMinContrast: 20 };

function raster(width: number, height: number, pixel: (x: number, y: number) => readonly [number, number, number]): InputRaster {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(pixel(x, y), (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

describe('quality measures on known rasters', () => {
  it('a constant image has zero Laplacian variance and no lesion', () => {
    const m = measureQuality(raster(224, 224, () => [120, 120, 120]), 480, P);
    assert.equal(m.sharpness, 0);
    assert.equal(m.lesion, null);
    assert.ok(Math.abs(m.meanLuminance - 120) < 1e-3);
    assert.equal(m.brightLuminance, 120);
    assert.equal(m.highlightShare, 0);
    assert.equal(m.shadowShare, 0);
  });

  it('a one-pixel black/white checkerboard has Laplacian variance (4 x 255)^2', () => {
    // Each interior pixel's Laplacian is +-1020; an even-sized region has as many of each, so mean 0.
    const m = measureQuality(raster(224, 224, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0])), 480, P);
    assert.ok(Math.abs(m.sharpness - 1020 ** 2) / 1020 ** 2 < 1e-4, String(m.sharpness));
    assert.ok(Math.abs(m.highlightShare - 0.5) < 1e-9);
    assert.ok(Math.abs(m.shadowShare - 0.5) < 1e-9);
  });

  it('the margin leaves the edges out of the sharpness measure', () => {
    // A sharp step only in the outer 10 pixels.
    const r = raster(100, 100, (x) => (x < 5 ? [0, 0, 0] : [200, 200, 200]));
    const y = luminance(r);
    assert.ok(laplacianVariance(y, 100, 100, 1) > 0);
    assert.equal(laplacianVariance(y, 100, 100, 10), 0);
  });

  it('shares of clipped highlights and shadows count pixels at or beyond the levels', () => {
    // Top quarter white, next quarter black, rest mid grey.
    const m = measureQuality(raster(100, 100, (_, y) => (y < 25 ? [255, 255, 255] : y < 50 ? [0, 0, 0] : [128, 128, 128])), 480, P);
    assert.ok(Math.abs(m.highlightShare - 0.25) < 1e-9);
    assert.ok(Math.abs(m.shadowShare - 0.25) < 1e-9);
    assert.equal(m.brightLuminance, 255);
  });

  it('rejects a raster whose size does not match its bytes', () => {
    assert.throws(() => luminance({ data: new Uint8Array(10), width: 4, height: 4 }), RangeError);
  });

  it('passes the original size through as shorterSide', () => {
    assert.equal(measureQuality(raster(8, 8, () => [1, 2, 3]), 150, P).shorterSide, 150);
  });
});

describe('lesion position', () => {
  it("Otsu splits a two-level histogram between the levels", () => {
    const hist = new Array<number>(256).fill(0);
    hist[60] = 100;
    hist[200] = 300;
    const t = otsuThreshold(hist);
    assert.ok(t.level >= 60 && t.level < 200, String(t.level));
    assert.equal(t.below, 60);
    assert.equal(t.above, 200);
  });

  it('finds a centred lesion at the centre, clear of the border', () => {
    const r: InputRaster = { data: lesionRgb({ width: 224, height: 224 }), width: 224, height: 224 };
    const l = findLesion(luminance(r), 224, 224, P);
    assert.ok(l);
    assert.ok(l.offset < 0.1, String(l.offset));
    assert.equal(l.borderShare, 0);
    // Radius 0.22 of the side: pi * 0.22^2 = 0.15 of the image.
    assert.ok(l.area > 0.1 && l.area < 0.22, String(l.area));
  });

  it('finds an off-centre lesion towards its corner', () => {
    const r: InputRaster = { data: lesionRgb({ width: 224, height: 224, cx: 0.8, cy: 0.8, radius: 0.12 }), width: 224, height: 224 };
    const l = findLesion(luminance(r), 224, 224, P);
    assert.ok(l);
    // (0.3, 0.3) of the side from the centre = 0.6 * sqrt(2) of half the side.
    assert.ok(Math.abs(l.offset - 0.6 * Math.SQRT2) < 0.08, String(l.offset));
  });

  it('treats a black vignette rim as vignette, not lesion', () => {
    const r = raster(224, 224, (x, y) => (Math.hypot(x - 112, y - 112) > 105 ? [0, 0, 0] : [210, 160, 140]));
    assert.equal(findLesion(luminance(r), 224, 224, P), null);
  });

  it('measureValue reads lesion measures, null when there is no lesion', () => {
    const m = measureQuality(raster(50, 50, () => [100, 100, 100]), 50, P);
    assert.equal(measureValue(m, 'lesionOffset'), null);
    assert.equal(measureValue(m, 'sharpness'), 0);
  });
});
