/**
 * Platt scaling of a pattern head's probability, fitted on its out-of-fold probabilities: the same
 * fit as training/bcc_mtl/calibration.py `platt_fit` (logistic regression of the label on
 * logit(p), p clipped to [1e-7, 1 - 1e-7], Newton's method from slope 1, intercept 0, ridge 1e-6),
 * and the same block as the manifest's `calibration` (method 'platt', slope, intercept). Applying it
 * is src/model/calibration.ts `calibrate`, re-exported here, so the runtime and the fit agree on the
 * formula. Pure.
 */
import { calibrate } from '../model/calibration.ts';
import type { Calibration } from '../model/manifest.ts';

export { calibrate };

/** The manifest's Platt block: `{ method: 'platt', slope, intercept }`. */
export type PlattCalibration = Extract<Calibration, { method: 'platt' }>;

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Fits slope a and intercept b of P(y = 1) = sigmoid(a logit(p) + b). The manifest requires a
 * positive slope; a head whose out-of-fold scores run against the labels gets a slope <= 0 here,
 * and acceptance refuses such a head on its AUC anyway.
 */
export function fitPlatt(labels: readonly number[], probabilities: ArrayLike<number>, iterations = 100): PlattCalibration {
  if (labels.length !== probabilities.length || labels.length === 0) {
    throw new RangeError(`labels has ${labels.length} values, probabilities has ${probabilities.length}`);
  }
  const z = Array.from(probabilities, logit);
  let a = 1;
  let b = 0;
  const ridge = 1e-6;
  for (let it = 0; it < iterations; it++) {
    let ga = ridge * a;
    let gb = ridge * b;
    let haa = ridge;
    let hab = 0;
    let hbb = ridge;
    z.forEach((zi, i) => {
      const p = sigmoid(a * zi + b);
      const r = p - labels[i]!;
      const w = p * (1 - p);
      ga += r * zi;
      gb += r;
      haa += w * zi * zi;
      hab += w * zi;
      hbb += w;
    });
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.max(Math.abs(da), Math.abs(db)) < 1e-10) {
      break;
    }
  }
  return { method: 'platt', slope: a, intercept: b };
}
