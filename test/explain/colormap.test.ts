import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { turbo } from '../../src/explain/colormap.ts';

describe('turbo', () => {
  it('returns integer bytes for every level', () => {
    for (let i = 0; i <= 255; i++) {
      for (const c of turbo(i / 255)) {
        assert.ok(Number.isInteger(c) && c >= 0 && c <= 255, `t=${i / 255}: ${c}`);
      }
    }
  });

  it('clamps t to [0, 1] and maps NaN to the low end', () => {
    assert.deepEqual(turbo(-3), turbo(0));
    assert.deepEqual(turbo(7), turbo(1));
    assert.deepEqual(turbo(Number.NaN), turbo(0));
  });

  it('stays close to the reference Turbo LUT at interior points', () => {
    // Entries 64, 128, 192 of Google's published 256-entry Turbo table, as bytes.
    const reference: readonly (readonly [number, readonly [number, number, number]])[] = [
      [64, [40, 188, 235]],
      [128, [164, 252, 60]],
      [192, [251, 126, 33]],
    ];
    for (const [index, expected] of reference) {
      const got = turbo(index / 255);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(got[c]! - expected[c]!) <= 25, `index ${index} channel ${c}: ${got[c]} vs ${expected[c]}`);
      }
    }
  });

  it('runs blue -> green -> red', () => {
    const [lr, , lb] = turbo(0.15);
    const [mr, mg, mb] = turbo(0.5);
    const [hr, hg, hb] = turbo(0.9);
    assert.ok(lb > lr, 'low end is blue');
    assert.ok(mg > mr && mg > mb, 'middle is green');
    assert.ok(hr > hg && hr > hb, 'high end is red');
  });

  it('pins the polynomial output at t=0.5', () => {
    assert.deepEqual(turbo(0.5), [152, 250, 79]);
  });
});
