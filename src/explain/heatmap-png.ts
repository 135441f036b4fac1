/**
 * CAM -> transparent PNG overlay, and overlay -> composited preview.
 * The overlay PNG is what goes into FHIR Media (base64), so it is kept small:
 * palette-quantised, no dithering, and transparent pixels are all-zero bytes.
 */
import sharp from 'sharp';

import type { CamMap } from './cam-map.ts';
import { normalisePositive, upsampleBilinear } from './cam-map.ts';
import { turbo } from './colormap.ts';

export interface HeatmapOptions {
  readonly width: number;
  readonly height: number;
  /**
   * Where the network's input came from, in output-pixel coordinates
   * (e.g. a centre crop). Default: the whole output. May extend past the
   * output (letterbox padding); only the overlapping part is drawn.
   * Fractional edges are rounded to whole pixels.
   */
  readonly region?: { left: number; top: number; width: number; height: number };
  /** Alpha at the strongest evidence, 0..1. Default 0.6. */
  readonly maxOpacity?: number;
  /** Normalised values below this are fully transparent, 0..1 (exclusive). Default 0.2. */
  readonly threshold?: number;
}

const DEFAULT_MAX_OPACITY = 0.6;
const DEFAULT_THRESHOLD = 0.2;

interface PixelRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

function assertPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function assertUnitRange(name: string, value: number, allowOne: boolean): void {
  const ok = Number.isFinite(value) && value >= 0 && (allowOne ? value <= 1 : value < 1);
  if (!ok) throw new RangeError(`${name} must be in [0, 1${allowOne ? ']' : ')'}, got ${value}`);
}

function resolveRegion(opts: HeatmapOptions): PixelRect {
  const r = opts.region;
  if (r === undefined) return { left: 0, top: 0, width: opts.width, height: opts.height };
  if (![r.left, r.top, r.width, r.height].every(Number.isFinite)) {
    throw new RangeError('region values must be finite numbers');
  }
  // Round the edges, not the size, so a scaled crop does not drift by a pixel.
  const left = Math.round(r.left);
  const top = Math.round(r.top);
  const width = Math.round(r.left + r.width) - left;
  const height = Math.round(r.top + r.height) - top;
  if (width < 1 || height < 1) throw new RangeError('region must be at least 1x1 pixel');
  if (left >= opts.width || top >= opts.height || left + width <= 0 || top + height <= 0) {
    // An empty overlay here would look like "no evidence", which is a
    // clinical statement; a misplaced region is a caller bug instead.
    throw new RangeError('region does not overlap the output image');
  }
  return { left, top, width, height };
}

/** Hermite ramp: no visible hard edge at the threshold contour. */
function ramp(v: number, threshold: number): number {
  if (!(v > threshold)) return 0;
  if (v >= 1) return 1;
  const t = (v - threshold) / (1 - threshold);
  return t * t * (3 - 2 * t);
}

/**
 * Renders one CAM channel as an RGBA PNG of exactly width x height: turbo
 * colours, alpha rising from 0 at `threshold` to `maxOpacity` at the peak,
 * and fully transparent outside `region` or where there is no positive
 * evidence.
 */
export async function renderHeatmapPng(map: CamMap, opts: HeatmapOptions): Promise<Buffer> {
  assertPositiveInt('width', opts.width);
  assertPositiveInt('height', opts.height);
  const maxOpacity = opts.maxOpacity ?? DEFAULT_MAX_OPACITY;
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  assertUnitRange('maxOpacity', maxOpacity, true);
  assertUnitRange('threshold', threshold, false);
  const region = resolveRegion(opts);

  // Normalise the small map first: cheaper, and bilinear weights are convex,
  // so the upsampled values stay within [0, 1].
  const normalised: CamMap = { width: map.width, height: map.height, data: normalisePositive(map.data) };
  const values = upsampleBilinear(normalised, region.width, region.height);

  const { width, height } = opts;
  const rgba = Buffer.alloc(width * height * 4);
  const x0 = Math.max(0, region.left);
  const x1 = Math.min(width, region.left + region.width);
  const y0 = Math.max(0, region.top);
  const y1 = Math.min(height, region.top + region.height);
  const alphaScale = 255 * maxOpacity;
  for (let y = y0; y < y1; y++) {
    const srcRow = (y - region.top) * region.width - region.left;
    for (let x = x0; x < x1; x++) {
      const v = values[srcRow + x]!;
      const alpha = Math.round(alphaScale * ramp(v, threshold));
      if (alpha === 0) continue;
      const [r, g, b] = turbo(v);
      const o = (y * width + x) * 4;
      rgba[o] = r;
      rgba[o + 1] = g;
      rgba[o + 2] = b;
      rgba[o + 3] = alpha;
    }
  }

  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png({ palette: true, dither: 0, compressionLevel: 9, effort: 7 })
    .toBuffer();
}

/**
 * The image, EXIF-oriented and stretched to width x height (the overlay was
 * rendered in that same frame), with the overlay on top, as PNG.
 */
export async function compositeOverlay(
  image: Buffer,
  overlayPng: Buffer,
  width: number,
  height: number,
): Promise<Buffer> {
  assertPositiveInt('width', width);
  assertPositiveInt('height', height);
  // sharp would centre a smaller overlay silently, misplacing the heatmap.
  const meta = await sharp(overlayPng).metadata();
  if (meta.width !== width || meta.height !== height) {
    throw new RangeError(`overlay is ${meta.width}x${meta.height}, expected ${width}x${height}`);
  }
  return sharp(image)
    .autoOrient()
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: overlayPng, blend: 'over' }])
    .png()
    .toBuffer();
}

/**
 * Overlay dimensions for an image (pass EXIF-oriented dimensions): longest
 * side capped at maxSide, aspect kept, never upscaled.
 */
export function overlaySize(
  imageWidth: number,
  imageHeight: number,
  maxSide = 512,
): { width: number; height: number } {
  assertPositiveInt('imageWidth', imageWidth);
  assertPositiveInt('imageHeight', imageHeight);
  assertPositiveInt('maxSide', maxSide);
  const scale = Math.min(1, maxSide / Math.max(imageWidth, imageHeight));
  return {
    width: Math.max(1, Math.round(imageWidth * scale)),
    height: Math.max(1, Math.round(imageHeight * scale)),
  };
}
