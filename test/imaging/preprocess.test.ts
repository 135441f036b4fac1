import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { inputRegion, toModelInput } from '../../src/imaging/preprocess.ts';
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
