import sharp from 'sharp';
import type { ModelManifest } from '../model/manifest.ts';
import { OperationOutcomeError, unprocessable } from '../common/outcomes.ts';
import type { DermoscopyImage } from './decode.ts';

/** Where in the upright image the network's square input came from (the whole image for `fill`). */
export interface InputRegion {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface ModelInput {
  /** NCHW planes for one image: R, then G, then B; (pixel/255 - mean) / std. */
  readonly tensor: Float32Array;
  readonly region: InputRegion;
  /**
   * The same pixels before normalising: RGB interleaved at the input size (greyscale replicated),
   * so the image-quality gate measures exactly what the network sees without a second decode.
   */
  readonly raster: InputRaster;
}

/** 8-bit RGB, interleaved, row-major. */
export interface InputRaster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

const NO_GAIN: readonly number[] = [1, 1, 1];

/**
 * Per-channel gains of shades-of-grey colour constancy over the resized pixels (manifest
 * `input.colorConstancy`; the formula is training's, training/README.md): the channel's p-norm mean
 * brought to the mean of the three, within the clamp.
 */
export function shadesOfGreyGains(raw: Uint8Array, channels: number, cc: NonNullable<ModelManifest['input']['colorConstancy']>): readonly number[] {
  const n = raw.length / channels;
  const e = [0, 1, 2].map((c) => {
    const src = channels >= 3 ? c : 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += ((raw[i * channels + src] ?? 0) / 255) ** cc.p;
    }
    return Math.max((sum / n) ** (1 / cc.p), 1e-6);
  });
  const grey = (e[0]! + e[1]! + e[2]!) / 3;
  const [lo, hi] = cc.gainClamp;
  return e.map((ec) => Math.min(hi, Math.max(lo, grey / ec)));
}

/** The region of the image the resize mode looks at. */
export function inputRegion(width: number, height: number, mode: ModelManifest['input']['resize']): InputRegion {
  if (mode === 'fill') {
    return { left: 0, top: 0, width, height };
  }
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
}

/**
 * Decodes and resizes exactly as the manifest says. sharp shrinks JPEGs on load, so a 12 MP photo
 * is never decoded at full size. The 'linear' kernel matches the training resize (PIL bilinear
 * with antialiasing when shrinking).
 */
export async function toModelInput(image: DermoscopyImage, spec: ModelManifest['input'], where = 'image'): Promise<ModelInput> {
  const size = spec.size;
  let raw: Buffer;
  try {
    raw = await sharp(image.bytes, { limitInputPixels: false, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size, size, { fit: spec.resize === 'fill' ? 'fill' : 'cover', position: 'centre', kernel: 'linear' })
      .raw()
      .toBuffer();
  } catch (err) {
    throw new OperationOutcomeError(unprocessable(`image could not be decoded: ${(err as Error).message}`, where), err);
  }
  const hw = size * size;
  const channels = raw.length / hw;
  const tensor = new Float32Array(3 * hw);
  const gains = spec.colorConstancy ? shadesOfGreyGains(raw, channels, spec.colorConstancy) : NO_GAIN;
  const scale = spec.std.map((s) => 1 / (255 * s));
  const shift = spec.mean.map((m, c) => m / (spec.std[c] ?? 1));
  for (let c = 0; c < 3; c++) {
    const sc = scale[c] ?? 0;
    const sh = shift[c] ?? 0;
    const gain = gains[c] ?? 1;
    // Greyscale inputs are replicated into the three planes.
    const src = channels >= 3 ? c : 0;
    const base = c * hw;
    for (let i = 0; i < hw; i++) {
      const v = raw[i * channels + src] ?? 0;
      // x' = min(1, x * gain), on the 0-255 scale; without colour constancy the pixel as it is.
      tensor[base + i] = (gains === NO_GAIN ? v : Math.min(255, v * gain)) * sc - sh;
    }
  }
  let rgb: Uint8Array = raw;
  if (channels !== 3) {
    rgb = new Uint8Array(3 * hw);
    for (let i = 0; i < hw; i++) {
      for (let c = 0; c < 3; c++) {
        rgb[i * 3 + c] = raw[i * channels + (channels >= 3 ? c : 0)] ?? 0;
      }
    }
  }
  return { tensor, region: inputRegion(image.width, image.height, spec.resize), raster: { data: rgb, width: size, height: size } };
}
