/**
 * Class activation maps: channel selection, torch-compatible upsampling and
 * normalisation. Pure functions over Float32Array; no I/O.
 */

/** One channel of a CAM, row-major (index = y * width + x). */
export interface CamMap {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

function assertPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function assertMapShape(map: CamMap): void {
  assertPositiveInt('map.width', map.width);
  assertPositiveInt('map.height', map.height);
  if (map.data.length !== map.width * map.height) {
    throw new RangeError(
      `map.data has ${map.data.length} values, expected ${map.width}x${map.height}=${map.width * map.height}`,
    );
  }
}

/**
 * Extracts one channel from a single image's CAM laid out as C*H*W.
 * Returns a copy so callers can normalise in place without corrupting the
 * model's output tensor (which other channels still read from).
 */
export function selectCamChannel(
  cam: Float32Array,
  channels: number,
  height: number,
  width: number,
  channel: number,
): CamMap {
  assertPositiveInt('channels', channels);
  assertPositiveInt('height', height);
  assertPositiveInt('width', width);
  const plane = height * width;
  if (cam.length !== channels * plane) {
    throw new RangeError(
      `cam has ${cam.length} values, expected ${channels}x${height}x${width}=${channels * plane}`,
    );
  }
  if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
    throw new RangeError(`channel must be an integer in [0, ${channels - 1}], got ${channel}`);
  }
  const start = channel * plane;
  return { width, height, data: cam.slice(start, start + plane) };
}

/** Per-output-coordinate source indices and the weight of the upper neighbour. */
interface AxisTable {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly wHi: Float64Array;
}

/**
 * Mirrors ATen's upsample_bilinear2d (align_corners=False): half-pixel
 * centres, negative source coordinates clamped to 0, and the upper neighbour
 * clamped to size-1 so edges replicate instead of reading out of bounds.
 */
function axisTable(inSize: number, outSize: number): AxisTable {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const wHi = new Float64Array(outSize);
  const scale = inSize / outSize;
  const last = inSize - 1;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max((d + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), last);
    lo[d] = i0;
    hi[d] = i0 < last ? i0 + 1 : i0;
    wHi[d] = src - i0;
  }
  return { lo, hi, wHi };
}

/**
 * Bilinear resize equal to torch `F.interpolate(mode='bilinear',
 * align_corners=False)`. Done as two 1-D passes (rows, then columns) because
 * the kernel is separable: O(inH*outW + outH*outW) instead of 4 taps and
 * 4 index computations per output pixel. The intermediate is float64 so the
 * only rounding to float32 happens once, at the end.
 */
export function upsampleBilinear(map: CamMap, outWidth: number, outHeight: number): Float32Array {
  assertMapShape(map);
  assertPositiveInt('outWidth', outWidth);
  assertPositiveInt('outHeight', outHeight);
  const { width: inW, height: inH, data } = map;

  const xs = axisTable(inW, outWidth);
  const rows = new Float64Array(inH * outWidth);
  for (let y = 0; y < inH; y++) {
    const rowIn = y * inW;
    const rowOut = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const w = xs.wHi[x]!;
      rows[rowOut + x] = data[rowIn + xs.lo[x]!]! * (1 - w) + data[rowIn + xs.hi[x]!]! * w;
    }
  }

  const ys = axisTable(inH, outHeight);
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const w = ys.wHi[y]!;
    const top = ys.lo[y]! * outWidth;
    const bottom = ys.hi[y]! * outWidth;
    const rowOut = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      out[rowOut + x] = rows[top + x]! * (1 - w) + rows[bottom + x]! * w;
    }
  }
  return out;
}

/**
 * `upsampleBilinear` quantised for display: round(v * 255) per output pixel,
 * for a map already normalised to [0, 1] (values outside are clamped, NaN is
 * 0), and levels below `zeroBelow` set to 0 (the display's transparent
 * range: one value compresses better than many). One tight loop per pass,
 * no float32 image in between: this runs for every overlay of every hook.
 */
export function upsampleBilinearLevels(map: CamMap, outWidth: number, outHeight: number, zeroBelow = 0): Uint8Array {
  assertMapShape(map);
  assertPositiveInt('outWidth', outWidth);
  assertPositiveInt('outHeight', outHeight);
  const { width: inW, height: inH, data } = map;
  const xs = axisTable(inW, outWidth);
  const rows = new Float64Array(inH * outWidth);
  for (let y = 0; y < inH; y++) {
    const rowIn = y * inW;
    const rowOut = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const w = xs.wHi[x]!;
      rows[rowOut + x] = (data[rowIn + xs.lo[x]!]! * (1 - w) + data[rowIn + xs.hi[x]!]! * w) * 255;
    }
  }
  const ys = axisTable(inH, outHeight);
  // Uint8ClampedArray rounds half to even and clamps, like round(clamp(v)) up to ties.
  const out = new Uint8ClampedArray(outWidth * outHeight);
  const cut = zeroBelow - 0.5;
  for (let y = 0; y < outHeight; y++) {
    const w = ys.wHi[y]!;
    const top = ys.lo[y]! * outWidth;
    const bottom = ys.hi[y]! * outWidth;
    const rowOut = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const v = rows[top + x]! * (1 - w) + rows[bottom + x]! * w;
      out[rowOut + x] = v < cut ? 0 : v;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * Rescales to [0, 1] using the map's own range. Meant for evaluation
 * (e.g. pointing game, IoU against lesion masks) where the relative ranking
 * of every cell matters, including negative ones. A constant map carries no
 * spatial information, so it maps to zeros rather than dividing by zero.
 */
export function normaliseMinMax(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    if (x < min) {
      min = x;
    }
    if (x > max) {
      max = x;
    }
  }
  const range = max - min;
  // `!(range > 0)` also catches NaN ranges and empty input.
  if (!(range > 0) || !Number.isFinite(range)) {
    return out;
  }
  for (let i = 0; i < v.length; i++) {
    out[i] = (v[i]! - min) / range;
  }
  return out;
}

/**
 * ReLU then divide by the maximum. Meant for display: only evidence that
 * pushes the logit up is shown, scaled to the strongest cell. When nothing
 * is positive the map is all zeros, so the overlay shows nothing instead of
 * stretching noise to full colour (which min-max would do).
 * Non-finite values count as no evidence.
 */
export function normalisePositive(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  let max = 0;
  for (const x of v) {
    if (x > max && Number.isFinite(x)) {
      max = x;
    }
  }
  if (!(max > 0)) {
    return out;
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    out[i] = x > 0 && Number.isFinite(x) ? x / max : 0;
  }
  return out;
}
