import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { CamMap } from '../../src/explain/cam-map.ts';
import {
  normaliseMinMax,
  normalisePositive,
  selectCamChannel,
  upsampleBilinear,
} from '../../src/explain/cam-map.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol, `index ${i}: got ${a}, expected ${e}`);
  }
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > v[best]!) {
      best = i;
    }
  }
  return best;
}

function hotCell(size: number, row: number, col: number): CamMap {
  const data = new Float32Array(size * size);
  data[row * size + col] = 1;
  return { width: size, height: size, data };
}

/** Direct 4-tap transcription of ATen's upsample_bilinear2d (align_corners=False). */
function referenceBilinear(map: CamMap, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  const sx = map.width / outW;
  const sy = map.height / outH;
  for (let y = 0; y < outH; y++) {
    const ry = Math.max((y + 0.5) * sy - 0.5, 0);
    const y0 = Math.floor(ry);
    const y1 = y0 + (y0 < map.height - 1 ? 1 : 0);
    const ly = ry - y0;
    for (let x = 0; x < outW; x++) {
      const rx = Math.max((x + 0.5) * sx - 0.5, 0);
      const x0 = Math.floor(rx);
      const x1 = x0 + (x0 < map.width - 1 ? 1 : 0);
      const lx = rx - x0;
      const at = (yy: number, xx: number): number => map.data[yy * map.width + xx]!;
      out[y * outW + x] =
        (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
    }
  }
  return out;
}

describe('selectCamChannel', () => {
  const cam = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i);

  it('returns the requested C*H*W plane', () => {
    const m = selectCamChannel(cam, 3, 2, 2, 1);
    assert.equal(m.width, 2);
    assert.equal(m.height, 2);
    assert.deepEqual(Array.from(m.data), [4, 5, 6, 7]);
  });

  it('returns a copy, not a view of the model output', () => {
    const m = selectCamChannel(cam, 3, 2, 2, 0);
    m.data[0] = 99;
    assert.equal(cam[0], 0);
  });

  it('throws RangeError on a bad channel', () => {
    assert.throws(() => selectCamChannel(cam, 3, 2, 2, 3), RangeError);
    assert.throws(() => selectCamChannel(cam, 3, 2, 2, -1), RangeError);
    assert.throws(() => selectCamChannel(cam, 3, 2, 2, 0.5), RangeError);
  });

  it('throws RangeError on a length mismatch', () => {
    assert.throws(() => selectCamChannel(cam, 8, 7, 7, 0), RangeError);
    assert.throws(() => selectCamChannel(cam.subarray(1), 3, 2, 2, 0), RangeError);
  });
});

describe('upsampleBilinear', () => {
  it("matches torch's align_corners=False result for [[1,2],[3,4]] -> 4x4", () => {
    const out = upsampleBilinear({ width: 2, height: 2, data: Float32Array.of(1, 2, 3, 4) }, 4, 4);
    // prettier-ignore
    assertClose(out, [
      1, 1.25, 1.75, 2,
      1.5, 1.75, 2.25, 2.5,
      2.5, 2.75, 3.25, 3.5,
      3, 3.25, 3.75, 4,
    ]);
  });

  it('downsamples with half-pixel centres (3 -> 2 samples at 0.25 and 1.75)', () => {
    const out = upsampleBilinear({ width: 3, height: 1, data: Float32Array.of(1, 2, 3) }, 2, 1);
    assertClose(out, [1.25, 2.75]);
  });

  it('is the identity when sizes are equal', () => {
    const data = Float32Array.from({ length: 7 * 5 }, (_, i) => Math.sin(i * 1.7) * 3);
    const out = upsampleBilinear({ width: 7, height: 5, data }, 7, 5);
    assert.deepEqual(Array.from(out), Array.from(data));
  });

  it('agrees with a direct 4-tap implementation on non-square up- and downsampling', () => {
    const map: CamMap = {
      width: 5,
      height: 3,
      data: Float32Array.from({ length: 15 }, (_, i) => Math.cos(i * 2.3) * 4 - 1),
    };
    for (const [w, h] of [
      [13, 8],
      [224, 224],
      [2, 2],
      [5, 9],
      [1, 1],
    ] as const) {
      assertClose(upsampleBilinear(map, w, h), referenceBilinear(map, w, h), 1e-5);
    }
  });

  it('puts the peak of a single hot 7x7 cell at its centre in 224x224', () => {
    const out = upsampleBilinear(hotCell(7, 2, 5), 224, 224);
    const i = argmax(out);
    const x = i % 224;
    const y = Math.floor(i / 224);
    // Cell centre in output pixels: (c + 0.5) * 32 - 0.5.
    assert.ok(Math.abs(x - 175.5) <= 0.5, `x=${x}`);
    assert.ok(Math.abs(y - 79.5) <= 0.5, `y=${y}`);
    assert.equal(out[0], 0, 'far corner untouched');
  });

  it('puts the peak of a single hot 7x7 cell at its centre in a non-square output', () => {
    const w = 320;
    const h = 160;
    const out = upsampleBilinear(hotCell(7, 2, 5), w, h);
    const i = argmax(out);
    const x = i % w;
    const y = Math.floor(i / w);
    const cx = 5.5 * (w / 7) - 0.5;
    const cy = 2.5 * (h / 7) - 0.5;
    assert.ok(Math.abs(x - cx) <= 1, `x=${x}, expected ~${cx}`);
    assert.ok(Math.abs(y - cy) <= 1, `y=${y}, expected ~${cy}`);
    assert.ok(out[i]! > 0.9, `peak ${out[i]}`);
    assert.equal(out[(h - 1) * w], 0, 'bottom-left untouched');
  });

  it('rejects a map whose data does not match its shape, and bad output sizes', () => {
    assert.throws(() => upsampleBilinear({ width: 7, height: 7, data: new Float32Array(48) }, 4, 4), RangeError);
    const ok: CamMap = { width: 2, height: 2, data: new Float32Array(4) };
    assert.throws(() => upsampleBilinear(ok, 0, 4), RangeError);
    assert.throws(() => upsampleBilinear(ok, 4, 2.5), RangeError);
  });
});

describe('normalisePositive', () => {
  it('applies relu then divides by the max', () => {
    assertClose(normalisePositive(Float32Array.of(-1, 0, 2, 4)), [0, 0, 0.5, 1]);
  });

  it('returns zeros when all values are negative (no positive evidence)', () => {
    assert.deepEqual(Array.from(normalisePositive(Float32Array.of(-3, -0.5, -7))), [0, 0, 0]);
  });

  it('returns zeros for an all-zero map', () => {
    assert.deepEqual(Array.from(normalisePositive(new Float32Array(4))), [0, 0, 0, 0]);
  });

  it('treats NaN as no evidence', () => {
    assertClose(normalisePositive(Float32Array.of(Number.NaN, 2, 1)), [0, 1, 0.5]);
  });

  it('does not modify its input', () => {
    const v = Float32Array.of(-1, 2);
    normalisePositive(v);
    assert.deepEqual(Array.from(v), [-1, 2]);
  });
});

describe('normaliseMinMax', () => {
  it('maps min to 0 and max to 1, keeping negative cells ranked', () => {
    assertClose(normaliseMinMax(Float32Array.of(-2, 0, 2, 1)), [0, 0.5, 1, 0.75]);
  });

  it('returns zeros for a constant map', () => {
    assert.deepEqual(Array.from(normaliseMinMax(Float32Array.of(3, 3, 3))), [0, 0, 0]);
    assert.deepEqual(Array.from(normaliseMinMax(Float32Array.of(-5, -5))), [0, 0]);
  });

  it('returns an empty array for empty input', () => {
    assert.equal(normaliseMinMax(new Float32Array(0)).length, 0);
  });
});
