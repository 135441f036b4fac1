/**
 * Image-quality measures on the raster the network sees (src/imaging/preprocess.ts `raster`: RGB
 * at the model input size), plus the original image's size. Pure and allocation-light: a few
 * passes over 224x224 pixels, well under a millisecond.
 */
import type { InputRaster } from '../imaging/preprocess.ts';

/** How to measure; the numbers live in models/image-gate.json (`measure`). */
export interface MeasureParams {
  /** Share of each side left out of the sharpness measure: vignette rims and resize edges. */
  readonly sharpnessMargin: number;
  /** A pixel is a clipped highlight when its luminance is >= this (0-255). */
  readonly highlightLevel: number;
  /** A pixel is a clipped shadow when its luminance is <= this (0-255). */
  readonly shadowLevel: number;
  /** Percentile (0-1) of luminance reported as `brightLuminance`: the skin's level, not the lesion's. */
  readonly brightPercentile: number;
  /** Lesion search grid (cells per side); cells darker than `shadowLevel` are treated as vignette, not lesion. */
  readonly lesionGrid: number;
  /** Minimum luminance gap between lesion and skin (Otsu class means) to call a lesion found. */
  readonly lesionMinContrast: number;
}

/** Where the darkest blob (the presumed lesion) lies; null when nothing stands out from the skin. */
export interface LesionPosition {
  /** Distance of the blob's centroid from the image centre, as a share of half the side (0 centre, ~1.41 corner). */
  readonly offset: number;
  /** Share of the image's outer ring of cells that the blob covers: high when it runs off the edges. */
  readonly borderShare: number;
  /** Share of the image the blob covers. */
  readonly area: number;
}

export interface QualityMeasures {
  /** The original image's shorter side in pixels (upright). */
  readonly shorterSide: number;
  /** Variance of the 4-neighbour Laplacian of luminance inside the margin (0 for a flat image). */
  readonly sharpness: number;
  /** Share of pixels at or above `highlightLevel`. */
  readonly highlightShare: number;
  /** Share of pixels at or below `shadowLevel`. */
  readonly shadowShare: number;
  readonly meanLuminance: number;
  /** Luminance at `brightPercentile`. */
  readonly brightLuminance: number;
  readonly lesion: LesionPosition | null;
}

/** The measures a check may name in models/image-gate.json. */
export const MEASURE_KEYS = ['shorterSide', 'sharpness', 'highlightShare', 'shadowShare', 'meanLuminance', 'brightLuminance', 'lesionOffset', 'lesionBorderShare'] as const;
export type MeasureKey = (typeof MEASURE_KEYS)[number];

/** A measure by name; null when it could not be measured (no lesion found). */
export function measureValue(m: QualityMeasures, key: MeasureKey): number | null {
  switch (key) {
    case 'lesionOffset':
      return m.lesion?.offset ?? null;
    case 'lesionBorderShare':
      return m.lesion?.borderShare ?? null;
    default:
      return m[key];
  }
}

/** Rec. 601 luma, 0-255, one value per pixel. */
export function luminance(r: InputRaster): Float32Array {
  const n = r.width * r.height;
  if (r.data.length !== n * 3) {
    throw new RangeError(`raster of ${r.width}x${r.height} needs ${n * 3} bytes (RGB), has ${r.data.length}`);
  }
  const y = new Float32Array(n);
  const d = r.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    y[i] = 0.299 * d[j]! + 0.587 * d[j + 1]! + 0.114 * d[j + 2]!;
  }
  return y;
}

/** Variance of the 4-neighbour Laplacian over the pixels at least `margin` (>= 1) from every edge. */
export function laplacianVariance(y: Float32Array, width: number, height: number, margin = 1): number {
  const m = Math.max(1, Math.floor(margin));
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let row = m; row < height - m; row++) {
    const base = row * width;
    for (let col = m; col < width - m; col++) {
      const i = base + col;
      const l = 4 * y[i]! - y[i - 1]! - y[i + 1]! - y[i - width]! - y[i + width]!;
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  if (n === 0) {
    return 0;
  }
  const mean = sum / n;
  return Math.max(0, sum2 / n - mean * mean);
}

/** Otsu's threshold on a 256-bin histogram: the level that best splits it into two classes. */
export function otsuThreshold(hist: ArrayLike<number>): { level: number; below: number; above: number } {
  let total = 0;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) {
    total += hist[i] ?? 0;
    sumAll += i * (hist[i] ?? 0);
  }
  let wB = 0;
  let sumB = 0;
  let best = -1;
  let result = { level: 0, below: 0, above: 0 };
  for (let t = 0; t < 256; t++) {
    wB += hist[t] ?? 0;
    if (wB === 0) {
      continue;
    }
    const wF = total - wB;
    if (wF === 0) {
      break;
    }
    sumB += t * (hist[t] ?? 0);
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) {
      best = between;
      result = { level: t, below: mB, above: mF };
    }
  }
  return result;
}

/**
 * The darkest coherent blob: luminance averaged over a grid (which also smooths hair and network),
 * Otsu between lesion and skin over the cells that are not vignette black, then the largest
 * 4-connected dark component.
 */
export function findLesion(y: Float32Array, width: number, height: number, p: Pick<MeasureParams, 'lesionGrid' | 'shadowLevel' | 'lesionMinContrast'>): LesionPosition | null {
  const g = Math.max(4, Math.floor(p.lesionGrid));
  const cells = new Float32Array(g * g);
  for (let cy = 0; cy < g; cy++) {
    const ya = Math.floor((cy * height) / g);
    const yb = Math.max(ya + 1, Math.floor(((cy + 1) * height) / g));
    for (let cx = 0; cx < g; cx++) {
      const xa = Math.floor((cx * width) / g);
      const xb = Math.max(xa + 1, Math.floor(((cx + 1) * width) / g));
      // Mean of the cell's non-black pixels; a cell mostly black is vignette (-1), so a rim's
      // partly black cells neither look like lesion nor count as one.
      let s = 0;
      let k = 0;
      for (let row = ya; row < yb; row++) {
        const base = row * width;
        for (let col = xa; col < xb; col++) {
          const v = y[base + col]!;
          if (v > p.shadowLevel) {
            s += v;
            k++;
          }
        }
      }
      cells[cy * g + cx] = 2 * k > (yb - ya) * (xb - xa) ? s / k : -1;
    }
  }
  const hist = new Float64Array(256);
  for (const v of cells) {
    if (v >= 0) {
      hist[Math.min(255, Math.round(v))]! += 1;
    }
  }
  const { level, below, above } = otsuThreshold(hist);
  if (above - below < p.lesionMinContrast) {
    return null;
  }
  const dark = new Uint8Array(g * g);
  for (let i = 0; i < g * g; i++) {
    const v = cells[i]!;
    dark[i] = v >= 0 && v <= level ? 1 : 0;
  }
  // Largest 4-connected component of dark cells.
  const label = new Int32Array(g * g).fill(-1);
  const stack: number[] = [];
  let bestSize = 0;
  let bestLabel = -1;
  let next = 0;
  for (let i = 0; i < g * g; i++) {
    if (!dark[i] || label[i] !== -1) {
      continue;
    }
    let size = 0;
    label[i] = next;
    stack.push(i);
    while (stack.length) {
      const c = stack.pop()!;
      size++;
      const cx = c % g;
      const cy = (c - cx) / g;
      const nb = [cx > 0 ? c - 1 : -1, cx < g - 1 ? c + 1 : -1, cy > 0 ? c - g : -1, cy < g - 1 ? c + g : -1];
      for (const q of nb) {
        if (q >= 0 && dark[q] && label[q] === -1) {
          label[q] = next;
          stack.push(q);
        }
      }
    }
    if (size > bestSize) {
      bestSize = size;
      bestLabel = next;
    }
    next++;
  }
  if (bestLabel < 0) {
    return null;
  }
  return positionOfCells((i) => label[i] === bestLabel, g);
}

/**
 * Where a set of cells of a grid x grid lies: centroid offset from the centre (share of the half
 * side), share of the border ring it covers, share of the grid. null for an empty set. One
 * definition for the lesion the gate finds and for the expert outlines it is evaluated against.
 */
export function positionOfCells(inLesion: (cell: number) => boolean, grid: number): LesionPosition | null {
  let sx = 0;
  let sy = 0;
  let n = 0;
  let ring = 0;
  let ringLesion = 0;
  for (let i = 0; i < grid * grid; i++) {
    const x = i % grid;
    const y = (i - x) / grid;
    const on = inLesion(i);
    if (on) {
      sx += x + 0.5;
      sy += y + 0.5;
      n++;
    }
    if (x === 0 || y === 0 || x === grid - 1 || y === grid - 1) {
      ring++;
      ringLesion += on ? 1 : 0;
    }
  }
  if (n === 0) {
    return null;
  }
  return { offset: Math.hypot(sx / n - grid / 2, sy / n - grid / 2) / (grid / 2), borderShare: ringLesion / ring, area: n / (grid * grid) };
}

/** All measures of one image. `shorterSide` is the original's (before resizing to the raster). */
export function measureQuality(raster: InputRaster, shorterSide: number, p: MeasureParams): QualityMeasures {
  const { width, height } = raster;
  const y = luminance(raster);
  const hist = new Uint32Array(256);
  let sum = 0;
  for (const v of y) {
    hist[(v + 0.5) | 0]!++;
    sum += v;
  }
  const n = y.length;
  let high = 0;
  let low = 0;
  for (let i = 0; i < 256; i++) {
    if (i >= p.highlightLevel) {
      high += hist[i] ?? 0;
    }
    if (i <= p.shadowLevel) {
      low += hist[i] ?? 0;
    }
  }
  let bright = 0;
  const rank = p.brightPercentile * n;
  for (let i = 0, acc = 0; i < 256; i++) {
    acc += hist[i] ?? 0;
    if (acc >= rank) {
      bright = i;
      break;
    }
  }
  const margin = Math.round(p.sharpnessMargin * Math.min(width, height));
  return {
    shorterSide,
    sharpness: laplacianVariance(y, width, height, margin),
    highlightShare: n ? high / n : 0,
    shadowShare: n ? low / n : 0,
    meanLuminance: n ? sum / n : 0,
    brightLuminance: bright,
    lesion: findLesion(y, width, height, p),
  };
}
