import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { measureCalibration } from '../../../src/tools/evaluation/calibration.ts';
import { drawReliabilitySvg, drawRocSvg, rasterisePng } from '../../../src/tools/evaluation/plots.ts';
import { rocAuc, rocCurve } from '../../../src/common/stats/roc.ts';

const labels = [0, 0, 1, 1, 0, 1];
const scores = [0.1, 0.4, 0.35, 0.8, 0.62, 0.9];

describe('plots', () => {
  it('draws a ROC curve with the AUC in the title, rasterised to a PNG of the requested size', async () => {
    const svg = drawRocSvg([{ label: 'all <test>', points: rocCurve(labels, scores), auc: rocAuc(labels, scores) }], { size: 480, title: 'ROC' });
    assert.match(svg, /ROC \(AUC 0\.778\)/);
    // Labels are escaped, so the SVG stays well-formed.
    assert.match(svg, /all &#60;test&#62;/);
    const png = await rasterisePng(svg);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 480, 480]);
  });

  it('draws a reliability diagram at the default 640 px', async () => {
    const svg = drawReliabilitySvg(measureCalibration(labels, scores));
    assert.match(svg, /ECE \d\.\d{3}, Brier \d\.\d{3}/);
    const meta = await sharp(await rasterisePng(svg)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 640, 640]);
  });

  it('writes n/a for an AUC that does not exist', () => {
    assert.match(drawRocSvg([{ label: 'one class', points: [], auc: Number.NaN }]), /AUC n\/a/);
  });

  it('actually draws: the curve leaves coloured pixels on the white page', async () => {
    const png = await rasterisePng(drawRocSvg([{ label: 'all', points: rocCurve(labels, scores), auc: rocAuc(labels, scores) }], { size: 200 }));
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let blueish = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if (data[i + 2]! > 120 && data[i]! < 80) {
        blueish++;
      }
    }
    assert.ok(blueish > 50, `${blueish} curve pixels`);
  });
});
