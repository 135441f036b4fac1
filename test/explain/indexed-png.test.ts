import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { encodeIndexedPng } from '../../src/explain/indexed-png.ts';

/** 4 entries: transparent, opaque red, half-transparent green, opaque blue. */
const palette = {
  rgb: Uint8Array.of(0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255),
  alpha: Uint8Array.of(0, 255, 128),
};

describe('encodeIndexedPng', () => {
  it('writes a palette PNG that decodes to exactly the palette colours, transparency included', async () => {
    const width = 5;
    const height = 3;
    const indices = Uint8Array.from({ length: width * height }, (_, i) => i % 4);
    const png = await encodeIndexedPng({ width, height, indices }, palette);
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, width);
    assert.equal(meta.height, height);
    assert.equal(meta.isPalette, true);
    const { data } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < width * height; i++) {
      const k = indices[i]!;
      const want = [palette.rgb[k * 3], palette.rgb[k * 3 + 1], palette.rgb[k * 3 + 2], palette.alpha[k] ?? 255];
      assert.deepEqual([...data.subarray(i * 4, i * 4 + 4)], want, `pixel ${i} (index ${k})`);
    }
  });

  it('compresses a smooth ramp to a small fraction of its raw size', async () => {
    const width = 512;
    const height = 384;
    const indices = Uint8Array.from({ length: width * height }, (_, i) => Math.floor(((i % width) / width) * 3));
    const png = await encodeIndexedPng({ width, height, indices }, palette);
    assert.ok(png.length < (width * height) / 50, `${png.length} bytes`);
  });

  it('rejects a size that does not match the indices, and an oversized palette', async () => {
    await assert.rejects(encodeIndexedPng({ width: 4, height: 4, indices: new Uint8Array(15) }, palette), RangeError);
    await assert.rejects(encodeIndexedPng({ width: 0, height: 4, indices: new Uint8Array(0) }, palette), RangeError);
    await assert.rejects(encodeIndexedPng({ width: 1, height: 1, indices: new Uint8Array(1) }, { rgb: new Uint8Array(257 * 3), alpha: new Uint8Array(0) }), RangeError);
  });
});
