import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import type { CamMap } from '../../src/explain/cam-map.ts';
import { compositeOverlay, overlaySize, renderHeatmapPng } from '../../src/explain/heatmap-png.ts';

interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly pixels: Buffer;
}

async function decodeRgba(png: Buffer): Promise<Rgba> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 4);
  return { width: info.width, height: info.height, pixels: data };
}

function pixel(img: Rgba, x: number, y: number): readonly [number, number, number, number] {
  const o = (y * img.width + x) * 4;
  const p = img.pixels;
  return [p[o]!, p[o + 1]!, p[o + 2]!, p[o + 3]!];
}

function maxAlphaIn(img: Rgba, x0: number, y0: number, x1: number, y1: number): number {
  let max = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      max = Math.max(max, pixel(img, x, y)[3]);
    }
  }
  return max;
}

function hotCell(row: number, col: number): CamMap {
  const data = new Float32Array(49).fill(-0.5);
  data[row * 7 + col] = 4;
  return { width: 7, height: 7, data };
}

function constantMap(value: number): CamMap {
  return { width: 7, height: 7, data: new Float32Array(49).fill(value) };
}

describe('renderHeatmapPng', () => {
  it('returns an RGBA PNG of exactly the requested size', async () => {
    const png = await renderHeatmapPng(hotCell(3, 3), { width: 301, height: 157 });
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 301);
    assert.equal(meta.height, 157);
    assert.equal(meta.hasAlpha, true);
  });

  it('draws a top-left hot cell top-left and leaves the bottom-right transparent', async () => {
    const img = await decodeRgba(await renderHeatmapPng(hotCell(0, 0), { width: 224, height: 160 }));
    const [, , , aHot] = pixel(img, 10, 8);
    assert.ok(aHot > 100, `alpha at hot cell ${aHot}`);
    assert.equal(maxAlphaIn(img, 112, 80, 224, 160), 0, 'bottom-right quadrant transparent');
  });

  it('gives a fully transparent PNG for an all-negative map', async () => {
    const map: CamMap = { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, i) => -1 - i) };
    const img = await decodeRgba(await renderHeatmapPng(map, { width: 64, height: 48 }));
    assert.equal(maxAlphaIn(img, 0, 0, 64, 48), 0);
  });

  it('leaves pixels outside the region transparent', async () => {
    const region = { left: 50, top: 10, width: 100, height: 80 };
    const img = await decodeRgba(await renderHeatmapPng(constantMap(2), { width: 200, height: 100, region }));
    assert.equal(maxAlphaIn(img, 0, 0, 50, 100), 0, 'left of region');
    assert.equal(maxAlphaIn(img, 150, 0, 200, 100), 0, 'right of region');
    assert.equal(maxAlphaIn(img, 0, 0, 200, 10), 0, 'above region');
    assert.equal(maxAlphaIn(img, 0, 90, 200, 100), 0, 'below region');
    assert.equal(pixel(img, 50, 10)[3], 153, 'region top-left corner drawn');
    assert.equal(pixel(img, 149, 89)[3], 153, 'region bottom-right corner drawn');
  });

  it('maps the upsampled map into the region, not the whole image', async () => {
    // Hot cell top-left of the crop must land near the crop's top-left corner.
    const region = { left: 100, top: 0, width: 100, height: 100 };
    const img = await decodeRgba(await renderHeatmapPng(hotCell(0, 0), { width: 300, height: 100, region }));
    assert.ok(pixel(img, 104, 4)[3] > 100, 'hot near crop origin');
    assert.equal(pixel(img, 4, 4)[3], 0, 'image origin is outside the crop');
  });

  it('draws only the overlapping part of a region that extends past the image', async () => {
    const region = { left: -20, top: 0, width: 140, height: 60 };
    const img = await decodeRgba(await renderHeatmapPng(constantMap(1), { width: 100, height: 60, region }));
    assert.equal(img.width, 100);
    assert.equal(pixel(img, 0, 30)[3], 153);
    assert.equal(pixel(img, 99, 30)[3], 153);
  });

  it('applies threshold (transparent below) and maxOpacity (alpha at the peak)', async () => {
    const map: CamMap = { width: 3, height: 1, data: Float32Array.of(0.1, 1, 0.5) };
    const opaque = await decodeRgba(await renderHeatmapPng(map, { width: 3, height: 1 }));
    assert.equal(pixel(opaque, 0, 0)[3], 0, 'below default threshold 0.2');
    assert.equal(pixel(opaque, 1, 0)[3], 153, 'peak at default maxOpacity 0.6');
    const mid = pixel(opaque, 2, 0)[3];
    assert.ok(mid > 0 && mid < 153, `ramp in between: ${mid}`);

    const custom = await decodeRgba(await renderHeatmapPng(map, { width: 3, height: 1, maxOpacity: 1, threshold: 0.6 }));
    assert.equal(pixel(custom, 1, 0)[3], 255);
    assert.equal(pixel(custom, 2, 0)[3], 0, '0.5 is below threshold 0.6');
  });

  it('keeps a realistic 512x384 overlay well under 100 KB', async () => {
    const data = new Float32Array(49);
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 7; x++) {
        data[y * 7 + x] =
          3 * Math.exp(-((x - 2) ** 2 + (y - 3) ** 2) / 3) +
          1.5 * Math.exp(-((x - 5) ** 2 + (y - 1) ** 2) / 1.5) +
          0.4 * Math.sin(x * 3.1 + y * 1.7);
      }
    }
    const png = await renderHeatmapPng({ width: 7, height: 7, data }, { width: 512, height: 384, threshold: 0 });
    assert.ok(png.length < 60_000, `${png.length} bytes`);
  });

  it('rejects invalid options', async () => {
    const map = constantMap(1);
    await assert.rejects(renderHeatmapPng(map, { width: 0, height: 10 }), RangeError);
    await assert.rejects(renderHeatmapPng(map, { width: 10, height: 10, maxOpacity: 1.5 }), RangeError);
    await assert.rejects(renderHeatmapPng(map, { width: 10, height: 10, threshold: 1 }), RangeError);
    await assert.rejects(
      renderHeatmapPng(map, { width: 10, height: 10, region: { left: 10, top: 0, width: 5, height: 5 } }),
      RangeError,
    );
    await assert.rejects(renderHeatmapPng({ width: 7, height: 7, data: new Float32Array(10) }, { width: 10, height: 10 }), RangeError);
  });
});

describe('compositeOverlay', () => {
  async function greyJpeg(width: number, height: number): Promise<Buffer> {
    return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .jpeg()
      .toBuffer();
  }

  it('returns a PNG of the given size that differs from the plain image only where the overlay is opaque', async () => {
    const image = await greyJpeg(800, 600);
    const overlay = await renderHeatmapPng(hotCell(0, 0), { width: 400, height: 300 });
    const out = await compositeOverlay(image, overlay, 400, 300);

    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 400);
    assert.equal(meta.height, 300);

    const composed = await decodeRgba(out);
    const plain = await decodeRgba(await sharp(image).resize(400, 300, { fit: 'fill' }).png().toBuffer());
    const hot = pixel(composed, 15, 12);
    const hotPlain = pixel(plain, 15, 12);
    const diff = Math.abs(hot[0] - hotPlain[0]) + Math.abs(hot[1] - hotPlain[1]) + Math.abs(hot[2] - hotPlain[2]);
    assert.ok(diff > 60, `overlay visible at hot cell (diff ${diff})`);
    const cold = pixel(composed, 390, 290);
    const coldPlain = pixel(plain, 390, 290);
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(cold[c]! - coldPlain[c]!) <= 2, `channel ${c} unchanged`);
    }
  });

  it('auto-rotates the image by its EXIF orientation', async () => {
    // Stored 40x20: left half red, right half blue; orientation 6 = rotate 90deg clockwise,
    // so the displayed 20x40 image is red on top, blue at the bottom.
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 40; x++) {
        raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
      }
    }
    const image = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    assert.equal((await sharp(image).metadata()).orientation, 6);

    const overlay = await renderHeatmapPng(constantMap(-1), { width: 20, height: 40 });
    const img = await decodeRgba(await compositeOverlay(image, overlay, 20, 40));
    const [tr, , tb] = pixel(img, 10, 5);
    const [br, , bb] = pixel(img, 10, 34);
    assert.ok(tr > 200 && tb < 60, `top should be red, got r=${tr} b=${tb}`);
    assert.ok(bb > 200 && br < 60, `bottom should be blue, got r=${br} b=${bb}`);
  });

  it('rejects an overlay whose size does not match', async () => {
    const image = await greyJpeg(100, 100);
    const overlay = await renderHeatmapPng(constantMap(1), { width: 50, height: 50 });
    await assert.rejects(compositeOverlay(image, overlay, 100, 100), RangeError);
  });
});

describe('overlaySize', () => {
  it('caps the longest side at 512 and keeps the aspect ratio', () => {
    assert.deepEqual(overlaySize(1024, 768), { width: 512, height: 384 });
    assert.deepEqual(overlaySize(768, 1024), { width: 384, height: 512 });
    assert.deepEqual(overlaySize(6000, 4000), { width: 512, height: 341 });
  });

  it('never upscales', () => {
    assert.deepEqual(overlaySize(300, 200), { width: 300, height: 200 });
    assert.deepEqual(overlaySize(512, 512), { width: 512, height: 512 });
  });

  it('honours a custom maxSide and keeps at least 1 px', () => {
    assert.deepEqual(overlaySize(1000, 500, 100), { width: 100, height: 50 });
    assert.deepEqual(overlaySize(10000, 5), { width: 512, height: 1 });
  });

  it('rejects non-positive or fractional sizes', () => {
    assert.throws(() => overlaySize(0, 10), RangeError);
    assert.throws(() => overlaySize(10, 10.5), RangeError);
    assert.throws(() => overlaySize(10, 10, 0), RangeError);
  });
});
