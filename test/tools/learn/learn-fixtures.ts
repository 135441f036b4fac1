/**
 * A synthetic annotation set for `npm run learn`: lesion-like images drawn with sharp, half of them
 * carrying a clearly visible cluster of blue-grey globules, and a sheet of three simulated
 * annotators who sometimes disagree with the truth. Never the shared research images.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../../src/common/stats/random.ts';

export const PATTERN = 'multiple_blue_gray_globules';

/** A skin-toned image with a brown lesion (jittered per seed); `globules` adds the pattern. */
export async function lesionImage(seed: number, globules: boolean, size = 256): Promise<Buffer> {
  const r = mulberry32(seed);
  const cx = size * (0.42 + 0.16 * r());
  const cy = size * (0.42 + 0.16 * r());
  const rx = size * (0.25 + 0.1 * r());
  const ry = size * (0.22 + 0.1 * r());
  const brown = `rgb(${120 + Math.floor(40 * r())},${70 + Math.floor(30 * r())},${50 + Math.floor(20 * r())})`;
  const dots = Array.from({ length: 12 }, () => `<circle cx="${cx + (r() - 0.5) * rx}" cy="${cy + (r() - 0.5) * ry}" r="${2 + 3 * r()}" fill="#4a2f25"/>`).join('');
  const blue = globules
    ? Array.from({ length: 18 }, () => `<circle cx="${cx + (r() - 0.5) * rx * 1.2}" cy="${cy + (r() - 0.5) * ry * 1.2}" r="${6 + 6 * r()}" fill="#5a6f9a" opacity="0.9"/>`).join('')
    : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="100%" height="100%" fill="#e6b8a0"/>
    <ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="${brown}"/>${dots}${blue}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

export interface LearnFixture {
  readonly images: string;
  /** Image key -> whether the globules were drawn. */
  readonly truth: ReadonlyMap<string, boolean>;
}

/** `present` + `absent` images as `<dir>/lesions/l<k>.jpg`; keys `lesions/l<k>.jpg`. */
export async function writeImages(dir: string, present: number, absent: number): Promise<LearnFixture> {
  const images = join(dir, 'images');
  await mkdir(join(images, 'lesions'), { recursive: true });
  const truth = new Map<string, boolean>();
  for (let k = 0; k < present + absent; k++) {
    const key = `lesions/l${k}.jpg`;
    const has = k < present;
    await writeFile(join(images, key), await lesionImage(1000 + k, has));
    truth.set(key, has);
  }
  return { images, truth };
}

/** Three annotators: d1 always right, d2 wrong on every 9th image, d3 on every 7th (offset), d3 skips every 11th. */
export function annotationSheet(truth: ReadonlyMap<string, boolean>, keys: readonly string[] = [...truth.keys()]): string {
  const rows = ['image,annotator,label,value'];
  keys.forEach((key, k) => {
    const t = truth.get(key) ? 1 : 0;
    rows.push(`${key},d1,${PATTERN},${t}`);
    rows.push(`${key},d2,${PATTERN},${k % 9 === 4 ? 1 - t : t}`);
    rows.push(`${key},d3,${PATTERN},${k % 11 === 5 ? '' : k % 7 === 3 ? 1 - t : t}`);
  });
  return `${rows.join('\n')}\n`;
}
