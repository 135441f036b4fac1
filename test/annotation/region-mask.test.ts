import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REGION_LIMITS, readRegionMask } from '../../src/annotation/region-mask.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { solidJpeg } from '../helpers/images.ts';
import { canvasMask, dataUrl, greyMask, maskBits, noisePng } from './masks.ts';

/** Rejects with an OperationOutcome of this HTTP status, naming `region`, with a message matching `text`. */
async function assertRefused(input: string, status: number, text: RegExp): Promise<void> {
  await assert.rejects(readRegionMask(input), (err: unknown) => {
    assert.ok(err instanceof OperationOutcomeError, String(err));
    assert.equal(getStatus(err.outcome), status, err.message);
    assert.deepEqual(err.outcome.issue[0]?.expression, ['region']);
    assert.match(err.message, text);
    return true;
  });
}

describe('region mask: checked, binarised, stored as a 1-bit PNG', () => {
  it('a canvas drawing (RGBA, transparent background) becomes the opaque pixels, whatever their colour', async () => {
    const mask = await readRegionMask(dataUrl(await canvasMask(8, 6, { x0: 2, y0: 1, x1: 5, y1: 3 })));
    assert.deepEqual([mask.width, mask.height], [8, 6]);
    const read = await maskBits(mask.png);
    assert.equal(read.bitsPerSample, 1);
    const expected = Array.from({ length: 48 }, (_, i) => (i % 8 >= 2 && i % 8 < 5 && Math.floor(i / 8) >= 1 && Math.floor(i / 8) < 3 ? 1 : 0));
    assert.deepEqual(read.bits, expected);
  });

  it('a greyscale mask without alpha, as bare base64: white is inside', async () => {
    const mask = await readRegionMask((await greyMask(4, 4, { x0: 0, y0: 0, x1: 2, y1: 4 })).toString('base64'));
    assert.deepEqual((await maskBits(mask.png)).bits, [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  });

  it('takes a mask at the limits: 1024x1024', async () => {
    const mask = await readRegionMask(dataUrl(await greyMask(REGION_LIMITS.maxSide, REGION_LIMITS.maxSide, { x0: 10, y0: 10, x1: 20, y1: 20 })));
    assert.deepEqual([mask.width, mask.height], [1024, 1024]);
  });

  it('refuses what is not a PNG mask (400), naming region', async () => {
    await assertRefused('not base64 at all!', 400, /not valid base64/);
    await assertRefused(dataUrl(Buffer.from('hello, not a png')), 400, /not a readable PNG/);
    await assertRefused((await solidJpeg(8, 8, [255, 255, 255])).toString('base64'), 400, /must be a PNG, not jpeg/);
    await assertRefused(`data:image/jpeg;base64,${(await solidJpeg(8, 8, [255, 255, 255])).toString('base64')}`, 400, /data:image\/png;base64/);
    await assertRefused(`data:image/png,${'x'.repeat(10)}`, 400, /data:image\/png;base64/);
    const png = await greyMask(32, 32, { x0: 0, y0: 0, x1: 16, y1: 16 });
    await assertRefused(png.subarray(0, png.length - 30).toString('base64'), 400, /not a readable PNG/);
    await assertRefused(dataUrl(await greyMask(16, 16, { x0: 0, y0: 0, x1: 0, y1: 0 })), 400, /marks no pixel/);
  });

  it('refuses an oversized mask (413): more than 256 KiB, or a side over 1024 pixels', async () => {
    const big = await noisePng(600);
    assert.ok(big.length > REGION_LIMITS.maxBytes, `${big.length} bytes`);
    await assertRefused(dataUrl(big), 413, /bytes; the limit is 262144/);
    const wide = await greyMask(2048, 8, { x0: 0, y0: 0, x1: 2048, y1: 8 });
    assert.ok(wide.length < REGION_LIMITS.maxBytes);
    await assertRefused(dataUrl(wide), 413, /2048x8 pixels; the limit is 1024x1024/);
  });
});
