/**
 * Dermoscopy-like JPEGs generated with sharp, never the research images: skin with blotchy
 * low-frequency colour, a lesion with an irregular border, a reticular (pigment-network-like) mid
 * frequency and dark globules inside it, hairs, and sensor noise. Flat colour would compress to a
 * few KB and decode unrealistically fast; this texture gives camera-like file sizes
 * (~0.3-0.5 bytes per pixel at quality 90).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../src/common/stats/random.ts';

export interface ImageSize {
  readonly label: string;
  readonly width: number;
  readonly height: number;
}

/** 0.3 MP (a phone thumbnail, HAM10000 scale), 2 MP (a typical upload), 12 MP (a dermatoscope camera). */
export const BENCH_SIZES: readonly ImageSize[] = [
  { label: '0.3 MP', width: 640, height: 480 },
  { label: '2 MP', width: 1632, height: 1224 },
  { label: '12 MP', width: 4000, height: 3000 },
];

/** A smooth random field in [-1, 1]: a coarse random grid, bilinearly interpolated. */
function valueNoise(rand: () => number, cells: number, aspect: number): (u: number, v: number) => number {
  const gw = cells + 2;
  const gh = Math.ceil(cells / aspect) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => rand() * 2 - 1);
  return (u: number, v: number): number => {
    const x = u * cells;
    const y = v * (gh - 2);
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const a = grid[y0 * gw + x0] ?? 0;
    const b = grid[y0 * gw + x0 + 1] ?? 0;
    const c = grid[(y0 + 1) * gw + x0] ?? 0;
    const d = grid[(y0 + 1) * gw + x0 + 1] ?? 0;
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  };
}

/** Raw RGB pixels of a synthetic dermoscopy image, deterministic for a seed. */
export function syntheticDermoscopyRgb(width: number, height: number, seed: number): Buffer {
  const rand = mulberry32(seed);
  const aspect = width / height;
  const blotch = valueNoise(rand, 6, aspect);
  const border = valueNoise(rand, 10, 1);
  const network = valueNoise(rand, 90, aspect);
  const fine = valueNoise(rand, 400, aspect);
  const globules = Array.from({ length: 40 }, () => {
    const a = rand() * Math.PI * 2;
    const r = Math.sqrt(rand()) * 0.22;
    return { u: 0.5 + r * Math.cos(a), v: 0.5 + r * Math.sin(a) * aspect, r2: (0.004 + rand() * 0.012) ** 2 };
  });
  const hairs = Array.from({ length: 5 }, () => ({ a: rand() * Math.PI, c: rand() * 2 - 1, w: 0.0015 + rand() * 0.002 }));
  const out = Buffer.alloc(width * height * 3);
  let noise = seed >>> 0;
  for (let y = 0; y < height; y++) {
    const v = y / height;
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const du = u - 0.5;
      const dv = (v - 0.5) / aspect;
      const dist = Math.sqrt(du * du + dv * dv);
      // Border noise sampled around a circle, so the outline closes without a seam.
      const cos = dist > 0 ? du / dist : 1;
      const sin = dist > 0 ? dv / dist : 0;
      const edge = 0.24 + 0.05 * border(0.5 + 0.4 * cos, 0.5 + 0.4 * sin);
      const inside = Math.min(1, Math.max(0, (edge - dist) / 0.02));
      const b = blotch(u, v);
      let r = 226 + 14 * b;
      let g = 178 + 12 * b;
      let bl = 158 + 10 * b;
      if (inside > 0) {
        const net = Math.abs(network(u, v));
        const dark = 0.55 + 0.45 * Math.min(1, net * 2.2);
        let lr = 140 * dark;
        let lg = 92 * dark;
        let lb = 78 * dark + 20 * (1 - dark);
        for (const gl of globules) {
          const gu = u - gl.u;
          const gv = (v - gl.v) / aspect;
          if (gu * gu + gv * gv < gl.r2) {
            lr = 70;
            lg = 72;
            lb = 96;
          }
        }
        r += (lr - r) * inside;
        g += (lg - g) * inside;
        bl += (lb - bl) * inside;
      }
      for (const h of hairs) {
        const d = Math.abs(du * Math.sin(h.a) - dv * Math.cos(h.a) - h.c * 0.4 + 0.02 * Math.sin(u * 9 + h.c * 5));
        if (d < h.w) {
          r = g = bl = 48;
        }
      }
      const f = fine(u, v) * 6;
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      const n = ((noise >>> 8) / 16777216 - 0.5) * 24;
      const o = (y * width + x) * 3;
      out[o] = r + f + n;
      out[o + 1] = g + f + n;
      out[o + 2] = bl + f + n;
    }
  }
  return out;
}

/** Bump when the generator changes, so cached files are not reused. */
const GENERATOR_VERSION = 2;
const CACHE_DIR = join(tmpdir(), 'bcc-cds-bench-images');

/**
 * A synthetic dermoscopy JPEG (baseline, 4:2:0, like camera output). Generating 12 MP takes
 * seconds, so files are cached in the OS temp folder, keyed by every parameter.
 */
export async function syntheticDermoscopyJpeg(width: number, height: number, seed = 1, quality = 90): Promise<Buffer> {
  const file = join(CACHE_DIR, `v${GENERATOR_VERSION}-${width}x${height}-s${seed}-q${quality}.jpg`);
  try {
    return await readFile(file);
  } catch {
    // Not cached yet.
  }
  const jpeg = await sharp(syntheticDermoscopyRgb(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, jpeg);
  await rename(tmp, file);
  return jpeg;
}
