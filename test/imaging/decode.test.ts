import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_DECODE_LIMITS, decodeDermoscopy } from '../../src/imaging/decode.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { solidJpeg, solidPng } from '../helpers/images.ts';

async function rejectsWith(p: Promise<unknown>, status: number, text: RegExp, expression = 'Media/1.content'): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OperationOutcomeError);
    assert.equal(getStatus(err.outcome), status);
    assert.match(err.message, text);
    assert.deepEqual(err.outcome.issue[0]?.expression, [expression]);
    return true;
  });
}

describe('decodeDermoscopy', () => {
  it('reads size and format from the header', async () => {
    const img = await decodeDermoscopy(await solidJpeg(120, 90, [10, 20, 30]));
    assert.deepEqual([img.format, img.width, img.height], ['jpeg', 120, 90]);
  });

  it('rejects non-image bytes, naming the element', async () => {
    await rejectsWith(decodeDermoscopy(Buffer.from('%PDF-1.7 not an image'), DEFAULT_DECODE_LIMITS, 'Media/1.content'), 422, /unreadable/);
  });

  it('rejects empty input', async () => {
    await rejectsWith(decodeDermoscopy(Buffer.alloc(0), DEFAULT_DECODE_LIMITS, 'Media/1.content'), 422, /empty/);
  });

  it('rejects an image over the byte cap', async () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxBytes: 100 };
    await rejectsWith(decodeDermoscopy(await solidPng(64, 64, [1, 2, 3]), limits, 'Media/1.content'), 422, /limit is 100/);
  });

  it('rejects a decompression bomb by its declared pixel count, before decoding', async () => {
    // A 20000 x 20000 PNG of one colour compresses to a few hundred KB.
    const bomb = await sharp({ create: { width: 20000, height: 20000, channels: 3, background: '#000' }, limitInputPixels: false })
      .png({ compressionLevel: 9 })
      .toBuffer();
    await rejectsWith(decodeDermoscopy(bomb, DEFAULT_DECODE_LIMITS, 'Media/1.content'), 422, /20000x20000 pixels/);
  });

  it('rejects a format that is not allowed', async () => {
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).gif().toBuffer();
    await rejectsWith(decodeDermoscopy(gif, DEFAULT_DECODE_LIMITS, 'Media/1.content'), 422, /format gif is not accepted/);
  });
});
