import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { OperationOutcomeError, badRequest, payloadTooLarge } from '../common/outcomes.ts';
import type { AnnotationRegion } from './annotation-store.ts';

/** What a drawn region may be: a mask, not a photograph (docs/integration.md, Annotations). */
export const REGION_LIMITS = {
  /** Decoded PNG bytes. */
  maxBytes: 256 * 1024,
  /** Each side, in pixels. */
  maxSide: 1024,
} as const;

const DATA_URL = /^data:([^;,]*)(;[^,]*)?,/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A region as the viewer sends it, `data:image/png;base64,...` or bare base64, to the mask that is
 * stored: checked to be a real PNG within REGION_LIMITS (bytes before decoding, sides from the
 * header before any pixel is decoded), then binarised and written again as a 1-bit PNG. Inside
 * the region: opaque pixels when the PNG has an alpha channel (a canvas drawn on a transparent
 * background), else light ones (luminance >= 128, a white-on-black mask). A mask marking no pixel
 * is refused: "no region" is said by leaving `region` out.
 */
export async function readRegionMask(text: string, where = 'region'): Promise<AnnotationRegion> {
  const bytes = decodeMaskText(text, where);
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new OperationOutcomeError(badRequest('region is not a readable PNG', where));
  }
  if (meta.format !== 'png') {
    throw new OperationOutcomeError(badRequest(`region must be a PNG, not ${meta.format}`, where));
  }
  const width = meta.width;
  const height = meta.height;
  if (width > REGION_LIMITS.maxSide || height > REGION_LIMITS.maxSide) {
    throw new OperationOutcomeError(payloadTooLarge(`region is ${width}x${height} pixels; the limit is ${REGION_LIMITS.maxSide}x${REGION_LIMITS.maxSide}`, where));
  }
  let plane: Buffer;
  try {
    const img = sharp(bytes, { failOn: 'error', limitInputPixels: REGION_LIMITS.maxSide * REGION_LIMITS.maxSide });
    plane = await (meta.hasAlpha ? img.extractChannel('alpha') : img.greyscale()).raw().toBuffer();
  } catch {
    throw new OperationOutcomeError(badRequest('region is not a readable PNG (its pixel data is damaged)', where));
  }
  if (plane.length !== width * height) {
    throw new OperationOutcomeError(badRequest('region could not be read as one plane', where));
  }
  let inside = 0;
  const bits = Buffer.alloc(plane.length);
  for (let i = 0; i < plane.length; i++) {
    if ((plane[i] ?? 0) >= 128) {
      bits[i] = 255;
      inside++;
    }
  }
  if (inside === 0) {
    throw new OperationOutcomeError(badRequest('region marks no pixel; leave region out when there is none', where));
  }
  const png = await sharp(bits, { raw: { width, height, channels: 1 } }).png({ palette: true, colours: 2, dither: 0, compressionLevel: 9 }).toBuffer();
  return { png: png.toString('base64'), width, height };
}

/** The PNG bytes of a data URL or bare base64; the size is checked before anything is decoded. */
function decodeMaskText(text: string, where: string): Buffer {
  let body = text;
  const m = DATA_URL.exec(text);
  if (m) {
    if (m[1]?.toLowerCase() !== 'image/png' || m[2]?.toLowerCase() !== ';base64') {
      throw new OperationOutcomeError(badRequest('region must be a data:image/png;base64 URL or base64 PNG', where));
    }
    body = text.slice(m[0].length);
  }
  const compact = body.replace(/\s+/g, '');
  const decoded = Math.floor((compact.replace(/=+$/, '').length * 3) / 4);
  if (decoded > REGION_LIMITS.maxBytes) {
    throw new OperationOutcomeError(payloadTooLarge(`region is ${decoded} bytes; the limit is ${REGION_LIMITS.maxBytes}`, where));
  }
  if (compact === '' || !BASE64.test(compact) || compact.length % 4 === 1) {
    throw new OperationOutcomeError(badRequest('region is not valid base64', where));
  }
  return Buffer.from(compact, 'base64');
}
