import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { viridis } from '../../src/explain/colormap.ts';

/** Relative luminance (WCAG 2.x) of sRGB bytes. */
function luminance([r, g, b]: readonly [number, number, number]): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

describe('viridis', () => {
  it('returns integer bytes for every level', () => {
    for (let i = 0; i <= 255; i++) {
      for (const c of viridis(i / 255)) {
        assert.ok(Number.isInteger(c) && c >= 0 && c <= 255, `t=${i / 255}: ${c}`);
      }
    }
  });

  it('clamps t to [0, 1] and maps NaN to the low end', () => {
    assert.deepEqual(viridis(-3), viridis(0));
    assert.deepEqual(viridis(7), viridis(1));
    assert.deepEqual(viridis(Number.NaN), viridis(0));
  });

  it("stays within 5 levels of matplotlib's viridis at its five published stops", () => {
    // #440154, #3b528b, #21918c, #5ec962, #fde725: matplotlib's viridis at 0, 0.25, 0.5, 0.75, 1.
    const reference: readonly (readonly [number, readonly [number, number, number]])[] = [
      [0, [0x44, 0x01, 0x54]],
      [0.25, [0x3b, 0x52, 0x8b]],
      [0.5, [0x21, 0x91, 0x8c]],
      [0.75, [0x5e, 0xc9, 0x62]],
      [1, [0xfd, 0xe7, 0x25]],
    ];
    for (const [t, expected] of reference) {
      const got = viridis(t);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(got[c]! - expected[c]!) <= 5, `t=${t} channel ${c}: ${got[c]} vs ${expected[c]}`);
      }
    }
  });

  it('gets lighter at every step, so the order survives greyscale and colour-vision deficiency', () => {
    let previous = -1;
    for (let i = 0; i <= 255; i += 5) {
      const l = luminance(viridis(i / 255));
      assert.ok(l > previous, `level ${i}: luminance ${l} not above ${previous}`);
      previous = l;
    }
  });

  it('pins the polynomial output at t=0.5', () => {
    assert.deepEqual(viridis(0.5), [31, 145, 139]);
  });
});
