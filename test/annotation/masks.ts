/** Region masks for the annotation tests, made with sharp: what a viewer's canvas would send, and worse. */
import sharp from 'sharp';

/** A canvas-like RGBA PNG: transparent, with an opaque red rectangle (x0..x1, y0..y1) drawn on it. */
export async function canvasMask(width: number, height: number, box: { x0: number; y0: number; x1: number; y1: number }): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 4);
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      px.set([220, 30, 30, 255], (y * width + x) * 4);
    }
  }
  return sharp(px, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/** A greyscale PNG with no alpha: white (255) inside the box, black outside. */
export async function greyMask(width: number, height: number, box: { x0: number; y0: number; x1: number; y1: number }): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  for (let y = box.y0; y < box.y1; y++) {
    px.fill(255, y * width + box.x0, y * width + box.x1);
  }
  return sharp(px, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** Greyscale noise: a PNG that does not compress, `side` x `side` (about side^2 bytes). */
export async function noisePng(side: number, seed = 7): Promise<Buffer> {
  let s = seed >>> 0;
  const px = Buffer.alloc(side * side);
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width: side, height: side, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
}

export function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** The pixels of a stored mask (bare base64 or data URL) as 0/1, row by row. */
export async function maskBits(png: string): Promise<{ width: number; height: number; bits: number[]; bitsPerSample: number | undefined }> {
  const bytes = Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64');
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, bits: [...data].map((v) => (v >= 128 ? 1 : 0)), bitsPerSample: meta.bitsPerSample };
}
