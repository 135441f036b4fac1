/**
 * Heatmap localisation: does the BCC activation map point at the lesion? Compares the normalised
 * BCC map inside the dermatologists' lesion mask with the map outside it, as the model card's
 * `heatmap.bccWithMask` does (training/train.py heatmap_localisation).
 */
import type { CamMap } from '../../explain/cam-map.ts';
import { normaliseMinMax, upsampleBilinear } from '../../explain/cam-map.ts';
import type { InputRegion } from '../../imaging/preprocess.ts';
import { median } from '../../common/stats/quantile.ts';

/** A single-channel lesion mask in upright image pixels, row-major; > 127 = lesion. */
export interface LesionMask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Mean normalised BCC map inside and outside the lesion, for one image. */
export interface ImageLocalisation {
  readonly inside: number;
  readonly outside: number;
}

export interface LocalisationSummary {
  readonly n: number;
  readonly meanInside: number;
  readonly meanOutside: number;
  /** Ratio of the means over images (not a mean of ratios): large when the map sits on the lesion. */
  readonly ratio: number;
  readonly medianPerImageRatio: number;
}

export const LESION_LEVEL = 127;

/** Guards per-image ratios against an all-zero outside, as the training script does. */
const MIN_OUTSIDE = 1e-6;

/**
 * Upsamples the BCC map (bilinear, torch align_corners=False) onto the part of the image the
 * network saw (the whole image for `fill`, the centre square for `cover`), min-max normalises it,
 * and averages inside and outside the mask there. Mask pixels the network never saw have no map
 * value and are left out. Undefined when that region lies all inside or all outside the lesion:
 * such an image cannot say whether the map prefers the lesion.
 */
export function localiseHeatmap(cam: CamMap, region: InputRegion, mask: LesionMask): ImageLocalisation | undefined {
  if (mask.data.length !== mask.width * mask.height) {
    throw new RangeError(`mask has ${mask.data.length} values, expected ${mask.width}x${mask.height}`);
  }
  const { left, top, width, height } = region;
  if (left < 0 || top < 0 || left + width > mask.width || top + height > mask.height) {
    throw new RangeError(`region ${width}x${height}+${left}+${top} lies outside the ${mask.width}x${mask.height} mask`);
  }
  const map = normaliseMinMax(upsampleBilinear(cam, width, height));
  let inSum = 0;
  let inCount = 0;
  let outSum = 0;
  for (let y = 0; y < height; y++) {
    const maskRow = (top + y) * mask.width + left;
    const mapRow = y * width;
    for (let x = 0; x < width; x++) {
      const v = map[mapRow + x]!;
      if (mask.data[maskRow + x]! > LESION_LEVEL) {
        inSum += v;
        inCount++;
      } else {
        outSum += v;
      }
    }
  }
  const outCount = width * height - inCount;
  if (inCount === 0 || outCount === 0) {
    return undefined;
  }
  return { inside: inSum / inCount, outside: outSum / outCount };
}

export function summariseLocalisation(images: readonly ImageLocalisation[]): LocalisationSummary {
  const n = images.length;
  if (n === 0) {
    return { n, meanInside: Number.NaN, meanOutside: Number.NaN, ratio: Number.NaN, medianPerImageRatio: Number.NaN };
  }
  const meanInside = images.reduce((a, m) => a + m.inside, 0) / n;
  const meanOutside = images.reduce((a, m) => a + m.outside, 0) / n;
  return {
    n,
    meanInside,
    meanOutside,
    ratio: meanInside / meanOutside,
    medianPerImageRatio: median(images.map((m) => m.inside / Math.max(m.outside, MIN_OUTSIDE))),
  };
}
