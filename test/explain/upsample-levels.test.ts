import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { CamMap } from '../../src/explain/cam-map.ts';
import { upsampleBilinear, upsampleBilinearLevels } from '../../src/explain/cam-map.ts';

function smoothMap(): CamMap {
  const data = new Float32Array(49);
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 7; x++) {
      data[y * 7 + x] = Math.exp(-((x - 2) ** 2 + (y - 4) ** 2) / 4);
    }
  }
  return { width: 7, height: 7, data };
}

describe('upsampleBilinearLevels', () => {
  it('is round(255 x upsampleBilinear), up to rounding of exact ties', () => {
    const map = smoothMap();
    const values = upsampleBilinear(map, 301, 157);
    const levels = upsampleBilinearLevels(map, 301, 157);
    assert.equal(levels.length, values.length);
    let maxDiff = 0;
    for (let i = 0; i < values.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(levels[i]! - Math.round(values[i]! * 255)));
    }
    assert.ok(maxDiff <= 1, `max difference ${maxDiff}`);
  });

  it('clamps to 0..255 and maps NaN to 0', () => {
    const map: CamMap = { width: 3, height: 1, data: Float32Array.of(-1, Number.NaN, 2) };
    assert.deepEqual([...upsampleBilinearLevels(map, 3, 1)], [0, 0, 255]);
  });

  it('sets levels below zeroBelow to 0 and keeps the rest', () => {
    const map: CamMap = { width: 4, height: 1, data: Float32Array.of(0.1, 0.19, 0.21, 0.9) };
    // 0.9 is 0.89999997 in float32: level 229.
    assert.deepEqual([...upsampleBilinearLevels(map, 4, 1, 51)], [0, 0, 54, Math.round(Math.fround(0.9) * 255)]);
  });
});
