import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { OperationOutcomeError, notSupported, tooCostly, unprocessable } from '../common/outcomes.ts';

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'tiff'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface DecodeLimits {
  readonly maxBytes: number;
  /** Decompression-bomb guard: width x height of the stored image. */
  readonly maxPixels: number;
  readonly formats: readonly ImageFormat[];
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxBytes: 25 * 1024 * 1024,
  maxPixels: 40_000_000,
  formats: IMAGE_FORMATS,
};

/** A readable image: its bytes and upright size (after EXIF orientation). Pixels are decoded lazily. */
export interface DermoscopyImage {
  readonly bytes: Buffer;
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
}

function isFormat(f: string | undefined): f is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(f ?? '');
}

/**
 * Reads the header only (no pixel decode): cheap rejection of what we will not process.
 * `where` names the element in error messages (e.g. `Media/123.content`).
 */
export async function decodeDermoscopy(bytes: Buffer, limits: DecodeLimits = DEFAULT_DECODE_LIMITS, where = 'image'): Promise<DermoscopyImage> {
  if (bytes.length === 0) {
    throw new OperationOutcomeError(unprocessable('image is empty', where));
  }
  if (bytes.length > limits.maxBytes) {
    throw new OperationOutcomeError(tooCostly(`image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`, where));
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new OperationOutcomeError(unprocessable(`image is unreadable: ${(err as Error).message}`, where), err);
  }
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- sharp types format, width and height
     as always set; a decoder that leaves one out must still land in a rejection below. */
  if (!isFormat(meta.format) || !limits.formats.includes(meta.format)) {
    throw new OperationOutcomeError(notSupported(`image format ${meta.format ?? 'unknown'} is not accepted (accepted: ${limits.formats.join(', ')})`, where));
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  if (w < 1 || h < 1) {
    throw new OperationOutcomeError(unprocessable('image has no size', where));
  }
  if (w * h > limits.maxPixels) {
    throw new OperationOutcomeError(tooCostly(`image is ${w}x${h} pixels; the limit is ${limits.maxPixels}`, where));
  }
  // Orientations 5-8 swap width and height.
  const swapped = (meta.orientation ?? 1) >= 5;
  return { bytes, format: meta.format, width: swapped ? h : w, height: swapped ? w : h };
}
