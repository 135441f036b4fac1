import sharp from 'sharp';
import { mulberry32 } from '../../src/common/stats/random.ts';

/** Synthetic test images made with sharp: never the shared research images. */
export async function solidJpeg(width: number, height: number, rgb: readonly [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg({ quality: 95 }).toBuffer();
}

export async function solidPng(width: number, height: number, rgb: readonly [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

/** A lesion-like image: a brown ellipse with darker dots on skin tone, deterministic for a seed. */
export async function lesionJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const rand = mulberry32(seed);
  const dots = Array.from({ length: 30 }, () => {
    const a = rand() * Math.PI * 2;
    const r = rand() * 0.3;
    return `<circle cx="${(0.5 + r * Math.cos(a)) * width}" cy="${(0.5 + r * Math.sin(a)) * height}" r="${2 + rand() * width * 0.02}" fill="#3b2a4a" opacity="0.8"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#e8b9a0"/>
    <ellipse cx="${width / 2}" cy="${height / 2}" rx="${width * 0.32}" ry="${height * 0.3}" fill="#8a5a44"/>
    ${dots}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** Uniform RGB noise, deterministic for a seed: no picture at all, for the gate's refusals. */
export async function noiseJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  let s = seed >>> 0;
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}
