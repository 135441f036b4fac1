import type { Calibration, ModelManifest } from './manifest.ts';

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
}

function interpolate(points: readonly (readonly [number, number])[], x: number): number {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) {
    return x;
  }
  if (x <= first[0]) {
    return first[1];
  }
  if (x >= last[0]) {
    return last[1];
  }
  let lo = 0;
  let hi = points.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((points[mid]?.[0] ?? 0) <= x) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const [x0, y0] = points[lo] ?? first;
  const [x1, y1] = points[hi] ?? last;
  return x1 === x0 ? y1 : y0 + ((x - x0) * (y1 - y0)) / (x1 - x0);
}

/**
 * The network's raw BCC output as a calibrated probability (fitted on out-of-fold predictions,
 * models/*.json `calibration`): among images given 0.3, about 30% are BCC. Without a calibration
 * block the raw output is returned unchanged.
 */
export function calibrate(raw: number, calibration: Calibration | undefined): number {
  if (!calibration || !Number.isFinite(raw)) {
    return raw;
  }
  if (calibration.method === 'platt') {
    return 1 / (1 + Math.exp(-(calibration.slope * logit(raw) + calibration.intercept)));
  }
  return interpolate(calibration.points, raw);
}

/**
 * The manifest's operating points (chosen on raw out-of-fold outputs) on the calibrated scale.
 * Calibration is monotone, so `calibrated >= point` decides exactly as `raw >= threshold` did, and
 * the numbers a clinician reads are all on one scale.
 */
export function operatingPoints(manifest: Pick<ModelManifest, 'thresholds' | 'calibration'>): Readonly<Record<string, number>> {
  return Object.fromEntries(Object.entries(manifest.thresholds).map(([name, t]) => [name, calibrate(t, manifest.calibration)]));
}
