import type { OverlayPixels } from './heatmap-png.ts';

/**
 * A heatmap in words, for people who cannot see the overlay (screen readers, a greyscale print) and
 * for everyone checking that they read it right: where the strongest evidence lies (a 3x3 grid of
 * the image) and how much of the image the drawn overlay covers. Computed from the very pixels the
 * PNG carries, so the words and the picture cannot disagree. The overlay knows nothing of the lesion
 * outline, so the words do not mention it.
 */
export interface HeatmapDescription {
  /** Fraction of the image with a visible overlay (level at or above the display threshold). */
  readonly coverage: number;
  /** Where the strongest evidence lies, as a 3x3 grid cell; absent when nothing is drawn. */
  readonly strongest?: { readonly row: 0 | 1 | 2; readonly column: 0 | 1 | 2 };
  /** The sentence the viewer shows beside the overlay and uses as its text alternative. */
  readonly text: string;
}

const PLACES = [
  ['upper-left part', 'top centre', 'upper-right part'],
  ['left side', 'centre', 'right side'],
  ['lower-left part', 'bottom centre', 'lower-right part'],
] as const;

/** The hot spot: pixels within this fraction of the peak level. */
const HOT_SPOT = 0.85;

function third(position: number, size: number): 0 | 1 | 2 {
  const t = Math.min(2, Math.floor((3 * position) / size));
  return t === 0 ? 0 : t === 1 ? 1 : 2;
}

function percent(coverage: number): string {
  if (coverage < 0.01) {
    return 'less than 1%';
  }
  return `about ${Math.round(coverage * 100)}%`;
}

/** Describes an overlay in words. Pure. */
export function describeHeatmapPixels(pixels: OverlayPixels): HeatmapDescription {
  const { width, height, indices } = pixels.image;
  // The palette's alpha rises with the level, so "visible" is "at or above the first visible level".
  const alpha = pixels.palette.alpha;
  let firstVisible = 1;
  while (firstVisible < 256 && (alpha[firstVisible] ?? 255) === 0) {
    firstVisible++;
  }
  // One pass: per level, how many pixels and the sums of their coordinates.
  const count = new Float64Array(256);
  const sumX = new Float64Array(256);
  const sumY = new Float64Array(256);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const level = indices[i]!;
      count[level]!++;
      sumX[level]! += x;
      sumY[level]! += y;
    }
  }
  let visible = 0;
  let peak = 0;
  for (let level = firstVisible; level < 256; level++) {
    if (count[level]! > 0) {
      visible += count[level]!;
      peak = level;
    }
  }
  if (visible === 0) {
    return { coverage: 0, text: 'No evidence above the display threshold: nothing is drawn.' };
  }
  // Centroid of the hot spot, so a plateau of equal peak pixels is not placed at its first pixel.
  const hot = Math.max(firstVisible, Math.floor(peak * HOT_SPOT));
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let level = hot; level <= peak; level++) {
    sx += sumX[level]!;
    sy += sumY[level]!;
    n += count[level]!;
  }
  // Pixel centres: +0.5.
  const row = third(sy / n + 0.5, height);
  const column = third(sx / n + 0.5, width);
  const coverage = visible / (width * height);
  return {
    coverage,
    strongest: { row, column },
    text: `Strongest evidence in the ${PLACES[row][column]} of the image; the overlay covers ${percent(coverage)} of the image.`,
  };
}
