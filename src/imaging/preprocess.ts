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
  const scale = spec.std.map((s) => 1 / (255 * s));
  const shift = spec.mean.map((m, c) => m / (spec.std[c] ?? 1));
  for (let c = 0; c < 3; c++) {
    const sc = scale[c] ?? 0;
    const sh = shift[c] ?? 0;
    // Greyscale inputs are replicated into the three planes.
    const src = channels >= 3 ? c : 0;
    const base = c * hw;
    for (let i = 0; i < hw; i++) {
      tensor[base + i] = (raw[i * channels + src] ?? 0) * sc - sh;
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
