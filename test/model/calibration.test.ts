import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { calibrate, operatingPoints } from '../../src/model/calibration.ts';
import type { Calibration } from '../../src/model/manifest.ts';

const platt: Calibration = { method: 'platt', slope: 0.8, intercept: -1.5 };
const isotonic: Calibration = {
  method: 'isotonic',
  points: [
    [0.01, 0.002],
    [0.1, 0.02],
    [0.5, 0.3],
    [0.9, 0.7],
  ],
};

describe('calibrate', () => {
  it('returns the raw output when the model ships no calibration', () => {
    assert.equal(calibrate(0.37, undefined), 0.37);
  });

  it('applies Platt scaling on the logit', () => {
    // logit(0.5) = 0, so the result is sigmoid(intercept).
    assert.ok(Math.abs(calibrate(0.5, platt) - 1 / (1 + Math.exp(1.5))) < 1e-12);
    const raw = 0.9;
    const expected = 1 / (1 + Math.exp(-(0.8 * Math.log(raw / (1 - raw)) - 1.5)));
    assert.ok(Math.abs(calibrate(raw, platt) - expected) < 1e-12);
  });

  it('interpolates isotonic points and clamps outside them', () => {
    assert.equal(calibrate(0.005, isotonic), 0.002);
    assert.equal(calibrate(0.95, isotonic), 0.7);
    assert.ok(Math.abs(calibrate(0.3, isotonic) - (0.02 + ((0.3 - 0.1) * (0.3 - 0.02)) / 0.4)) < 1e-12);
    assert.equal(calibrate(0.5, isotonic), 0.3);
  });

  it('keeps NaN as NaN, so a broken output never looks like a probability', () => {
    assert.ok(Number.isNaN(calibrate(Number.NaN, platt)));
  });

  it('is monotone, so every decision at an operating point is the same before and after', () => {
    for (const cal of [platt, isotonic]) {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          return calibrate(lo, cal) <= calibrate(hi, cal);
        }),
      );
      const points = operatingPoints({ thresholds: { triage: 0.05, balanced: 0.3 }, calibration: cal });
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (raw) => {
          // Strict monotonicity (Platt) keeps decisions exactly; a flat isotonic step may merge
          // values on one side, never swap them.
          const before = raw >= 0.05;
          const after = calibrate(raw, cal) >= (points.triage ?? Number.NaN);
          return cal.method === 'platt' ? before === after : !before || after;
        }),
      );
    }
  });
});
