/**
 * Generated dermoscopy-like images for the gate tests (never the research images): skin with
 * low-frequency blotches and sensor noise, a dark brown lesion with a reticular texture, and an
 * optional dark vignette rim like a dermatoscope's.
 */
import sharp from 'sharp';

export interface LesionSpec {
  readonly width: number;
  readonly height: number;
  /** Lesion centre as a share of width and height. */
  readonly cx?: number;
  readonly cy?: number;
  /** Lesion radius as a share of the shorter side. */
  readonly radius?: number;
  readonly seed?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function lesionRgb(spec: LesionSpec): Buffer {
  const { width, height } = spec;
  const cx = (spec.cx ?? 0.5) * width;
  const cy = (spec.cy ?? 0.5) * height;
  const r = (spec.radius ?? 0.22) * Math.min(width, height);
  const rand = rng(spec.seed ?? 1);
  const out = Buffer.alloc(width * height * 3);
  const short = Math.min(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const blotch = 8 * Math.sin((x / short) * 7.1) * Math.cos((y / short) * 5.3);
      const noise = (rand() - 0.5) * 24;
      const d = Math.hypot(x - cx, y - cy) / r;
      // Soft-edged lesion (about 10% of its radius), with a pigment-network-like texture.
      const inside = Math.min(1, Math.max(0, (1.05 - d) / 0.1));
      const net = 18 * Math.sin((x / short) * 90) * Math.sin((y / short) * 90);
      const skin = [214 + blotch, 160 + blotch, 135 + blotch];
      const lesion = [105 + net, 68 + net, 50 + net];
      for (let c = 0; c < 3; c++) {
        const v = (skin[c] ?? 0) * (1 - inside) + (lesion[c] ?? 0) * inside + noise;
        out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

/** The generated image as a JPEG (quality 92), as a referral would carry it. */
export async function lesionJpeg(spec: LesionSpec): Promise<Buffer> {
  return sharp(lesionRgb(spec), { raw: { width: spec.width, height: spec.height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}
