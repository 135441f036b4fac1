/**
 * A minimal PNG writer for 8-bit indexed images (colour type 3) with a transparency table.
 * Heatmap overlays have at most 256 distinct RGBA values, all functions of one level, so they are
 * exactly an indexed image: no colour quantisation (libimagequant) is needed, and deflate sees one
 * byte per pixel instead of four. See src/explain/README.md for the numbers.
 */
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';

const deflateAsync = promisify(deflate);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_TYPE_INDEXED = 3;

export interface Palette {
  /** r, g, b per entry (at most 256 entries). */
  readonly rgb: Uint8Array;
  /** Alpha per entry; entries past its end are opaque. */
  readonly alpha: Uint8Array;
}

/** One palette index per pixel, row-major. */
export interface IndexedImage {
  readonly width: number;
  readonly height: number;
  readonly indices: Uint8Array;
}

/** PNG filter type 1: each byte minus its left neighbour. */
const FILTER_SUB = 1;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(parts: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) {
    for (const byte of p) {
      c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
    }
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, tail]);
}

/**
 * Scanlines with the Sub filter. Overlay indices are ordered by level and vary smoothly, so the
 * differences are mostly 0 and +-1: deflate then runs several times faster and the file is smaller
 * than unfiltered (src/explain/README.md).
 */
function subFiltered(image: IndexedImage): Uint8Array {
  const { width, height, indices } = image;
  const out = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) {
    const src = y * width;
    const dst = y * (width + 1);
    out[dst] = FILTER_SUB;
    let left = 0;
    for (let x = 0; x < width; x++) {
      const v = indices[src + x]!;
      out[dst + 1 + x] = (v - left) & 0xff;
      left = v;
    }
  }
  return out;
}

/**
 * Encodes an indexed image as an 8-bit palette PNG (with a tRNS chunk when the palette has alpha).
 * Deflate runs on the libuv threadpool, so the event loop stays free.
 */
export async function encodeIndexedPng(image: IndexedImage, palette: Palette, level = 2): Promise<Buffer> {
  const { width, height, indices } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (indices.length !== width * height) {
    throw new RangeError(`image has ${indices.length} indices, expected ${width}x${height}`);
  }
  const entries = palette.rgb.length / 3;
  if (!Number.isInteger(entries) || entries < 1 || entries > 256 || palette.alpha.length > entries) {
    throw new RangeError('palette must have 1-256 rgb entries and at most as many alpha entries');
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = COLOUR_TYPE_INDEXED;
  const idat = await deflateAsync(subFiltered(image), { level });
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('PLTE', palette.rgb),
    ...(palette.alpha.length ? [chunk('tRNS', palette.alpha)] : []),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
