/**
 * CAM -> transparent PNG overlay, and overlay -> composited preview.
 * The overlay PNG is what goes into FHIR Media (base64), so it is kept small
 * and cheap to make: an exact indexed PNG (one palette entry per level, no
 * quantiser, no dithering), and transparent pixels are all-zero bytes.
 */
import sharp from 'sharp';

import type { CamMap } from './cam-map.ts';
import { normalisePositive, upsampleBilinearLevels } from './cam-map.ts';
import { viridis } from './colormap.ts';
import type { IndexedImage, Palette } from './indexed-png.ts';
import { encodeIndexedPng } from './indexed-png.ts';

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
/** zlib level for overlays; see src/explain/README.md for time against size. */
const PNG_DEFLATE_LEVEL = 2;

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
  if (!ok) {
    throw new RangeError(`${name} must be in [0, 1${allowOne ? ']' : ')'}, got ${value}`);
  }
}

function resolveRegion(opts: HeatmapOptions): PixelRect {
  const r = opts.region;
  if (r === undefined) {
    return { left: 0, top: 0, width: opts.width, height: opts.height };
  }
  if (![r.left, r.top, r.width, r.height].every(Number.isFinite)) {
    throw new RangeError('region values must be finite numbers');
  }
  // Round the edges, not the size, so a scaled crop does not drift by a pixel.
  const left = Math.round(r.left);
  const top = Math.round(r.top);
  const width = Math.round(r.left + r.width) - left;
  const height = Math.round(r.top + r.height) - top;
  if (width < 1 || height < 1) {
    throw new RangeError('region must be at least 1x1 pixel');
  }
  if (left >= opts.width || top >= opts.height || left + width <= 0 || top + height <= 0) {
    // An empty overlay here would look like "no evidence", which is a
    // clinical statement; a misplaced region is a caller bug instead.
    throw new RangeError('region does not overlap the output image');
  }
  return { left, top, width, height };
}

/** Hermite ramp: no visible hard edge at the threshold contour. */
function ramp(v: number, threshold: number): number {
  if (!(v > threshold)) {
    return 0;
  }
  if (v >= 1) {
    return 1;
  }
  const t = (v - threshold) / (1 - threshold);
  return t * t * (3 - 2 * t);
}

/**
 * Renders one CAM channel as an RGBA PNG of exactly width x height: viridis
 * colours, alpha rising from 0 at `threshold` to `maxOpacity` at the peak,
 * and fully transparent outside `region` or where there is no positive
 * evidence.
 */
export async function renderHeatmapPng(map: CamMap, opts: HeatmapOptions): Promise<Buffer> {
  return encodeOverlayPng(renderHeatmapPixels(map, opts));
}

/** An overlay before compression: one palette index per pixel, and the palette. */
export interface OverlayPixels {
  /** Index = the level round(v * 255) of the upsampled, normalised map; 0 outside the region. */
  readonly image: IndexedImage;
  readonly palette: Palette;
}

interface OverlayPalette extends Palette {
  /** The lowest level with any opacity; every level below is transparent. */
  readonly firstVisible: number;
}

const palettes = new Map<string, OverlayPalette>();

/**
 * One entry per level round(v * 255): the viridis colour at that level, alpha = maxOpacity x
 * smoothstep(threshold -> 1) there. Levels below the threshold are all-zero entries (fully
 * transparent) and are rendered as 0, so the pixels are the levels themselves: no remapping pass.
 */
function overlayPalette(maxOpacity: number, threshold: number): OverlayPalette {
  const key = `${maxOpacity}/${threshold}`;
  const cached = palettes.get(key);
  if (cached) {
    return cached;
  }
  const rgb = new Uint8Array(256 * 3);
  const alpha = new Uint8Array(256);
  let firstVisible = 256;
  for (let level = 1; level < 256; level++) {
    const v = level / 255;
    const a = Math.round(255 * maxOpacity * ramp(v, threshold));
    if (a === 0) {
      continue;
    }
    firstVisible = Math.min(firstVisible, level);
    const [r, g, b] = viridis(v);
    rgb[level * 3] = r;
    rgb[level * 3 + 1] = g;
    rgb[level * 3 + 2] = b;
    alpha[level] = a;
  }
  const palette = { rgb, alpha, firstVisible };
  palettes.set(key, palette);
  return palette;
}

/** The overlay's pixels as palette indices, before compression. Pure. */
export function renderHeatmapPixels(map: CamMap, opts: HeatmapOptions): OverlayPixels {
  assertPositiveInt('width', opts.width);
  assertPositiveInt('height', opts.height);
  const maxOpacity = opts.maxOpacity ?? DEFAULT_MAX_OPACITY;
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  assertUnitRange('maxOpacity', maxOpacity, true);
  assertUnitRange('threshold', threshold, false);
  const region = resolveRegion(opts);
  const palette = overlayPalette(maxOpacity, threshold);

  // Normalise the small map first: cheaper, and bilinear weights are convex,
  // so the upsampled values stay within [0, 1].
  const normalised: CamMap = { width: map.width, height: map.height, data: normalisePositive(map.data) };
  const levels = upsampleBilinearLevels(normalised, region.width, region.height, palette.firstVisible);

  const { width, height } = opts;
  if (region.left === 0 && region.top === 0 && region.width === width && region.height === height) {
    return { image: { width, height, indices: levels }, palette };
  }
  // A region inside (a crop) or beyond (letterbox) the frame: copy the overlapping rows.
  const out = new Uint8Array(width * height);
  const x0 = Math.max(0, region.left);
  const x1 = Math.min(width, region.left + region.width);
  const y0 = Math.max(0, region.top);
  const y1 = Math.min(height, region.top + region.height);
  for (let y = y0; y < y1; y++) {
    const src = (y - region.top) * region.width - region.left;
    out.set(levels.subarray(src + x0, src + x1), y * width + x0);
  }
  return { image: { width, height, indices: out }, palette };
}

/** Overlay pixels -> the PNG that goes into FHIR Media. */
export async function encodeOverlayPng(pixels: OverlayPixels): Promise<Buffer> {
  return encodeIndexedPng(pixels.image, pixels.palette, PNG_DEFLATE_LEVEL);
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
