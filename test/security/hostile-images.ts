/**
 * Hostile image bytes for fault tests: a truncated JPEG and a decompression bomb (a 30000 x 30000
 * PNG, 900 megapixels, under 1 MB). libvips takes ~15 s on 2 cores to encode the bomb, so it is
 * made once and kept in the OS temp folder; later runs read it back.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { lesionJpeg } from '../helpers/images.ts';

export const BOMB_SIDE = 30_000;
const BOMB_FILE = join(tmpdir(), `bcc-cds-test-png-bomb-${BOMB_SIDE}.png`);

let bomb: Promise<Buffer> | undefined;

/** A 30000 x 30000 greyscale PNG: 900 megapixels that deflate to well under 1 MB. */
export function pngBomb(): Promise<Buffer> {
  bomb ??= (async (): Promise<Buffer> => {
    const cached = await readFile(BOMB_FILE).catch(() => undefined);
    if (cached && (await isBomb(cached))) {
      return cached;
    }
    const made = await sharp({ create: { width: BOMB_SIDE, height: BOMB_SIDE, channels: 3, background: '#000' }, limitInputPixels: false })
      .toColourspace('b-w')
      .png({ compressionLevel: 9, adaptiveFiltering: false })
      .toBuffer();
    const tmp = `${BOMB_FILE}.${randomUUID()}`;
    await writeFile(tmp, made);
    await rename(tmp, BOMB_FILE);
    return made;
  })();
  return bomb;
}

async function isBomb(bytes: Buffer): Promise<boolean> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    return meta.format === 'png' && meta.width === BOMB_SIDE && meta.height === BOMB_SIDE;
  } catch {
    return false;
  }
}

/** The first 60% of a real JPEG: a valid header, then nothing. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await lesionJpeg(400, 300, 7);
  return full.subarray(0, Math.floor(full.length * 0.6));
}
