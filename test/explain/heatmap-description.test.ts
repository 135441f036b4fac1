import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { CamMap } from '../../src/explain/cam-map.ts';
import { describeHeatmapPixels } from '../../src/explain/heatmap-description.ts';
import { renderHeatmapPixels } from '../../src/explain/heatmap-png.ts';

function hotCell(row: number, col: number): CamMap {
  const data = new Float32Array(49).fill(-0.5);
  data[row * 7 + col] = 4;
  return { width: 7, height: 7, data };
}

describe('describeHeatmapPixels', () => {
  it('places the strongest evidence in a 3x3 grid of the image and says how much the overlay covers', () => {
    const d = describeHeatmapPixels(renderHeatmapPixels(hotCell(0, 0), { width: 210, height: 140 }));
    assert.deepEqual(d.strongest, { row: 0, column: 0 });
    assert.ok(d.coverage > 0 && d.coverage < 0.2, `coverage ${d.coverage}`);
    assert.match(d.text, /^Strongest evidence in the upper-left part of the image; the overlay covers about \d+% of the image\.$/);
  });

  it('names each cell of the grid', () => {
    const expected: Record<string, string> = {
      '0,6': 'upper-right part',
      '3,3': 'centre',
      '6,0': 'lower-left part',
      '6,3': 'bottom centre',
      '3,6': 'right side',
    };
    for (const [cell, words] of Object.entries(expected)) {
      const [row, col] = cell.split(',').map(Number) as [number, number];
      const d = describeHeatmapPixels(renderHeatmapPixels(hotCell(row, col), { width: 140, height: 140 }));
      assert.ok(d.text.includes(`in the ${words} of the image`), `${cell}: ${d.text}`);
    }
  });

  it('says when nothing is drawn, with no place', () => {
    const flat: CamMap = { width: 7, height: 7, data: new Float32Array(49).fill(-1) };
    const d = describeHeatmapPixels(renderHeatmapPixels(flat, { width: 70, height: 70 }));
    assert.equal(d.coverage, 0);
    assert.equal(d.strongest, undefined);
    assert.equal(d.text, 'No evidence above the display threshold: nothing is drawn.');
  });

  it('counts only the frame the overlay covers: a region in a corner is described there', () => {
    const even: CamMap = { width: 7, height: 7, data: new Float32Array(49).fill(1) };
    const d = describeHeatmapPixels(renderHeatmapPixels(even, { width: 300, height: 300, region: { left: 200, top: 200, width: 100, height: 100 } }));
    assert.deepEqual(d.strongest, { row: 2, column: 2 });
    assert.match(d.text, /covers about 11% of the image/);
  });
});
