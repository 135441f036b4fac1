import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { inputRegion, shadesOfGreyGains, toModelInput } from '../../src/imaging/preprocess.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';
import { solidPng } from '../helpers/images.ts';

const spec = (resize: 'fill' | 'cover', size = 32): ModelManifest['input'] => ({
  name: 'image',
  layout: 'NCHW',
  type: 'float32',
  size,
  resize,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
});

/** Left `redWidth` columns red, the rest blue. */
async function twoColour(width: number, height: number, redWidth: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = x < redWidth ? 255 : 0;
      raw[o + 2] = x < redWidth ? 0 : 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('preprocessing', () => {
  it('normalises each channel with the manifest mean and std, in RGB plane order', async () => {
    const img = await decodeDermoscopy(await solidPng(50, 40, [255, 0, 102]));
    const { tensor } = await toModelInput(img, spec('fill'));
    const hw = 32 * 32;
    assert.equal(tensor.length, 3 * hw);
    const expect = [1, -1, (102 / 255 - 0.5) / 0.5];
    for (let c = 0; c < 3; c++) {
      for (const i of [0, hw / 2, hw - 1]) {
        assert.ok(Math.abs((tensor[c * hw + i] ?? Number.NaN) - expect[c]!) < 1e-6, `channel ${c} pixel ${i}`);
      }
    }
  });

  it('uses other mean/std values as given', async () => {
    const img = await decodeDermoscopy(await solidPng(20, 20, [128, 128, 128]));
    const s = { ...spec('fill', 16), mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };
    const { tensor } = await toModelInput(img, s);
    assert.ok(Math.abs(tensor[0]! - (128 / 255 - 0.485) / 0.229) < 1e-5);
    assert.ok(Math.abs(tensor[2 * 256]! - (128 / 255 - 0.406) / 0.225) < 1e-5);
  });

  it('fill stretches the whole image: a red left quarter stays a left quarter', async () => {
    const img = await decodeDermoscopy(await twoColour(400, 200, 100));
    const { tensor, region } = await toModelInput(img, spec('fill'));
    assert.deepEqual(region, { left: 0, top: 0, width: 400, height: 200 });
    const row = 16 * 32;
    assert.ok(tensor[row + 2]! > 0.9, 'column 2 is red');
    assert.ok(tensor[row + 20]! < -0.9, 'column 20 is not red');
  });

  it('cover takes the centre square: the red left quarter is cropped away', async () => {
    const img = await decodeDermoscopy(await twoColour(400, 200, 100));
    const { tensor, region } = await toModelInput(img, spec('cover'));
    assert.deepEqual(region, { left: 100, top: 0, width: 200, height: 200 });
    // Column 0 may carry a little of its outside neighbour through the resampling kernel.
    const red = tensor.subarray(0, 32 * 32).filter((_, i) => i % 32 >= 2);
    assert.ok(red.every((v) => v < -0.9), 'no red left after the centre crop');
  });

  it('applies EXIF orientation before sizing', async () => {
    const jpeg = await sharp(await twoColour(60, 30, 30)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeDermoscopy(jpeg);
    assert.deepEqual([img.width, img.height], [30, 60]);
    // Rotated 90 degrees clockwise, the red left half becomes the top half.
    const { tensor } = await toModelInput(img, spec('fill'));
    assert.ok(tensor[2 * 32 + 16]! > 0.9, 'top is red');
    assert.ok(tensor[29 * 32 + 16]! < -0.9, 'bottom is not red');
  });

  it('replicates a greyscale image into three planes', async () => {
    const grey = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#808080' } }).toColourspace('b-w').png().toBuffer();
    const { tensor } = await toModelInput(await decodeDermoscopy(grey), spec('fill', 8));
    assert.ok(Math.abs(tensor[0]! - tensor[64]!) < 1e-6 && Math.abs(tensor[0]! - tensor[128]!) < 1e-6);
  });

  it('computes the cover region for portrait images', () => {
    assert.deepEqual(inputRegion(300, 500, 'cover'), { left: 0, top: 100, width: 300, height: 300 });
  });
});

describe('shades-of-grey colour constancy (manifest input.colorConstancy)', () => {
  const cc: NonNullable<ModelManifest['input']['colorConstancy']> = { method: 'shades-of-grey', p: 6, gainClamp: [0.25, 4] };
  /** A lesion-like drawing under a colour cast: every pixel's channels scaled by `cast`. */
  async function castImage(cast: readonly [number, number, number]): Promise<Buffer> {
    const w = 64;
    const h = 48;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = (x - 32) ** 2 / 400 + (y - 24) ** 2 / 225 < 1;
        const base = inside ? [120, 80, 70] : [200, 160, 150];
        for (let c = 0; c < 3; c++) {
          raw[(y * w + x) * 3 + c] = Math.min(255, Math.round((base[c] ?? 0) * (cast[c] ?? 1)));
        }
      }
    }
    return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  }
  /** Channel p-norm means of the network input, back on the 0-1 scale. */
  function channelNorms(tensor: Float32Array, hw: number, p: number): number[] {
    return [0, 1, 2].map((c) => {
      let sum = 0;
      for (let i = 0; i < hw; i++) {
        sum += ((tensor[c * hw + i] ?? 0) * 0.5 + 0.5) ** p;
      }
      return (sum / hw) ** (1 / p);
    });
  }

  it('evens out the channels: the three p-norm means come out equal', async () => {
    const img = await decodeDermoscopy(await castImage([1, 0.8, 0.6]));
    const { tensor } = await toModelInput(img, { ...spec('fill'), colorConstancy: cc });
    const e = channelNorms(tensor, 32 * 32, 6);
    assert.ok(Math.max(...e) - Math.min(...e) < 0.01, `channel norms ${e.map((v) => v.toFixed(4)).join(', ')}`);
  });

  it('gives nearly the same input for the same scene under two colour casts', async () => {
    const a = await toModelInput(await decodeDermoscopy(await castImage([1, 0.8, 0.6])), { ...spec('fill'), colorConstancy: cc });
    const b = await toModelInput(await decodeDermoscopy(await castImage([0.7, 0.8, 1])), { ...spec('fill'), colorConstancy: cc });
    const without = await toModelInput(await decodeDermoscopy(await castImage([0.7, 0.8, 1])), spec('fill'));
    const withoutA = await toModelInput(await decodeDermoscopy(await castImage([1, 0.8, 0.6])), spec('fill'));
    const dist = (x: Float32Array, y: Float32Array): number => x.reduce((s, v, i) => s + Math.abs(v - (y[i] ?? 0)), 0) / x.length;
    assert.ok(dist(a.tensor, b.tensor) < dist(withoutA.tensor, without.tensor) / 5, 'constancy removes most of the cast');
  });

  it('leaves the raster the quality gate measures as the image was, and changes nothing without the field', async () => {
    const img = await decodeDermoscopy(await castImage([1, 0.8, 0.6]));
    const plain = await toModelInput(img, spec('fill'));
    const corrected = await toModelInput(img, { ...spec('fill'), colorConstancy: cc });
    assert.deepEqual(corrected.raster.data, plain.raster.data);
    assert.notDeepEqual(corrected.tensor, plain.tensor);
  });

  it('clamps the gain: a channel with no light is not blown up past the clamp', () => {
    const raw = new Uint8Array(4 * 3);
    for (let i = 0; i < 4; i++) {
      raw[i * 3] = 200;
      raw[i * 3 + 1] = 100;
      raw[i * 3 + 2] = 0;
    }
    const g = shadesOfGreyGains(raw, 3, cc);
    assert.equal(g[2], 4);
    assert.ok(g.every((v) => v >= 0.25 && v <= 4));
  });
});
