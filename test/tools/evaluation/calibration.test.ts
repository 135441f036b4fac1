import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brierScore, expectedCalibrationError, measureCalibration, reliabilityBins } from '../../../src/tools/evaluation/calibration.ts';

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);
}

describe('calibration', () => {
  const labels = [0, 1, 0, 1, 1];
  const scores = [0.05, 0.15, 0.15, 0.95, 1.0];

  it('puts scores in ten equal-width bins, 1.0 in the last', () => {
    const bins = reliabilityBins(labels, scores);
    assert.equal(bins.length, 10);
    assert.deepEqual(
      bins.map((b) => b.count),
      [1, 2, 0, 0, 0, 0, 0, 0, 0, 2],
    );
    close(bins[1]!.meanPredicted, 0.15);
    close(bins[1]!.observedRate, 0.5);
    close(bins[9]!.meanPredicted, 0.975);
    assert.equal(bins[9]!.observedRate, 1);
    assert.ok(Number.isNaN(bins[5]!.meanPredicted));
    close(bins[3]!.lower, 0.3);
    close(bins[3]!.upper, 0.4);
  });

  it('weights each bin gap by its share of images (ECE)', () => {
    // 1/5 * 0.05 + 2/5 * 0.35 + 2/5 * 0.025
    close(expectedCalibrationError(reliabilityBins(labels, scores)), 0.16);
  });

  it('computes the Brier score', () => {
    // (0.0025 + 0.7225 + 0.0225 + 0.0025 + 0) / 5
    close(brierScore(labels, scores), 0.15);
    assert.equal(brierScore([1, 0], [1, 0]), 0);
  });

  it('bundles bins, ECE, Brier and n', () => {
    const c = measureCalibration(labels, scores);
    assert.equal(c.n, 5);
    close(c.ece, 0.16);
    close(c.brier, 0.15);
    assert.ok(Number.isNaN(measureCalibration([], []).ece));
  });
});
