/**
 * A pattern head: class-balanced, L2-penalised logistic regression on standardised features, the
 * same objective as training/bcc_mtl/heads.py `fit_balanced_head(kind="logistic")`:
 *
 *   loss(v, c) = sum_i s_i * BCE(v . z_i + c, y_i) + 0.5 * l2 * |v|^2
 *
 * with z = (x - mean) / sqrt(var + 1e-4) (population variance), s_i = 0.5 / n_pos for positives and
 * 0.5 / n_neg for negatives (each class weighs one half in total), the bias c unpenalised, and l2 on
 * that scale (training's texture heads use l2 = 10). Fitted by L-BFGS from zero with a deterministic
 * backtracking line search, so the same rows give the same weights on every run. Pure; no I/O.
 *
 * The result is folded back into the original feature space, logit = w . x + b with w = v / std and
 * b = c - w . mean, which is linear in x: applied to a spatial-mean feature vector it gives the
 * image's logit, applied to each location F[:, h, w] it gives the class-activation map, and the mean
 * of the map is exactly the image's logit.
 */

export type FeatureRow = ArrayLike<number>;

export interface LogisticHeadOptions {
  /** L2 penalty on the standardised weights, on heads.py's scale (0.5 * l2 * |v|^2); default 10. */
  readonly l2?: number;
  /** L-BFGS iterations at most; default 500 (heads.py's max_iter). */
  readonly maxIterations?: number;
  /** Stop when the gradient's largest component is below this; default 1e-9 (heads.py's tolerance_grad). */
  readonly gradientTolerance?: number;
}

export interface LogisticHead {
  /** Weights in the original feature space: logit = weights . x + bias. */
  readonly weights: Float64Array;
  readonly bias: number;
  /** The standardisation the fit used, and the weights on the standardised scale. */
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly standardisedWeights: Float64Array;
  readonly standardisedBias: number;
  /** L-BFGS iterations used, the final objective and whether the gradient tolerance was met. */
  readonly iterations: number;
  readonly loss: number;
  readonly converged: boolean;
}

/** The variance floor of heads.py's standardiser: std = sqrt(var + 1e-4). */
export const VARIANCE_FLOOR = 1e-4;
export const DEFAULT_L2 = 10;

const HISTORY = 20;

function checkRows(rows: readonly FeatureRow[], labels: readonly number[]): number {
  if (rows.length !== labels.length) {
    throw new RangeError(`rows has ${rows.length} values, labels has ${labels.length}`);
  }
  const first = rows[0];
  if (!first) {
    throw new RangeError('no rows to fit');
  }
  const d = first.length;
  let positives = 0;
  rows.forEach((r, i) => {
    if (r.length !== d) {
      throw new RangeError(`rows[${i}] has ${r.length} features, rows[0] has ${d}`);
    }
    const y = labels[i];
    if (y !== 0 && y !== 1) {
      throw new RangeError(`labels[${i}] is ${String(y)}; labels must be 0 or 1`);
    }
    positives += y;
  });
  if (positives === 0 || positives === rows.length) {
    throw new RangeError(`both classes are needed, got ${positives} positives of ${rows.length}`);
  }
  return d;
}

/** Column means and sqrt(population variance + 1e-4), as heads.py's `standardiser`. */
export function standardiser(rows: readonly FeatureRow[]): { mean: Float64Array; std: Float64Array } {
  const d = rows[0]?.length ?? 0;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) {
      mean[j]! += r[j]!;
    }
  }
  for (let j = 0; j < d; j++) {
    mean[j]! /= rows.length;
  }
  for (const r of rows) {
    for (let j = 0; j < d; j++) {
      const c = r[j]! - mean[j]!;
      sq[j]! += c * c;
    }
  }
  const std = sq.map((s) => Math.sqrt(s / rows.length + VARIANCE_FLOOR));
  return { mean, std };
}

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  if (z >= 0) {
    return 1 / (1 + Math.exp(-z));
  }
  const e = Math.exp(z);
  return e / (1 + e);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    s += a[j]! * b[j]!;
  }
  return s;
}

/**
 * The objective and its gradient at theta = [v (d values), c]; z is the n x d standardised matrix,
 * row-major. Writes the gradient into `grad`.
 */
function objective(
  theta: Float64Array,
  z: Float64Array,
  y: Float64Array,
  s: Float64Array,
  l2: number,
  grad: Float64Array,
): number {
  const n = y.length;
  const d = theta.length - 1;
  const c = theta[d]!;
  grad.fill(0);
  let loss = 0;
  let gc = 0;
  for (let i = 0; i < n; i++) {
    const off = i * d;
    let t = c;
    for (let j = 0; j < d; j++) {
      t += theta[j]! * z[off + j]!;
    }
    // BCE with logits: softplus(t) - y t.
    loss += s[i]! * (softplus(t) - y[i]! * t);
    const r = s[i]! * (sigmoid(t) - y[i]!);
    gc += r;
    for (let j = 0; j < d; j++) {
      grad[j]! += r * z[off + j]!;
    }
  }
  let penalty = 0;
  for (let j = 0; j < d; j++) {
    penalty += theta[j]! * theta[j]!;
    grad[j]! += l2 * theta[j]!;
  }
  grad[d] = gc;
  return loss + 0.5 * l2 * penalty;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) {
    m = Math.max(m, Math.abs(v));
  }
  return m;
}

/** Fits the head; throws a RangeError on mismatched lengths, labels other than 0/1, or a missing class. */
export function fitLogisticHead(
  rows: readonly FeatureRow[],
  labels: readonly number[],
  options: LogisticHeadOptions = {},
): LogisticHead {
  const d = checkRows(rows, labels);
  const l2 = options.l2 ?? DEFAULT_L2;
  if (!(l2 >= 0)) {
    throw new RangeError(`l2 must be >= 0, got ${l2}`);
  }
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.gradientTolerance ?? 1e-9;
  const n = rows.length;
  const { mean, std } = standardiser(rows);
  const z = new Float64Array(n * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) {
      z[i * d + j] = (r[j]! - mean[j]!) / std[j]!;
    }
  });
  const y = Float64Array.from(labels);
  const positives = labels.reduce((a, b) => a + b, 0);
  const negatives = n - positives;
  const s = y.map((v) => (v === 1 ? 0.5 / positives : 0.5 / negatives));

  // L-BFGS (two-loop recursion) with Armijo backtracking from a unit step.
  const p = d + 1;
  let theta = new Float64Array(p);
  let grad = new Float64Array(p);
  let loss = objective(theta, z, y, s, l2, grad);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rho: number[] = [];
  const next = new Float64Array(p);
  const nextGrad = new Float64Array(p);
  let iterations = 0;
  let converged = maxAbs(grad) < tolerance;
  while (!converged && iterations < maxIterations) {
    iterations++;
    // Direction = -H grad.
    const q = Float64Array.from(grad);
    const alpha: number[] = [];
    for (let k = sHist.length - 1; k >= 0; k--) {
      const a = rho[k]! * dot(sHist[k]!, q);
      alpha[k] = a;
      const yk = yHist[k]!;
      for (let j = 0; j < p; j++) {
        q[j]! -= a * yk[j]!;
      }
    }
    const last = sHist.length - 1;
    // First step: scale so that the step is at most 1 in the largest component.
    const gamma = last >= 0 ? dot(sHist[last]!, yHist[last]!) / dot(yHist[last]!, yHist[last]!) : Math.min(1, 1 / maxAbs(grad));
    for (let j = 0; j < p; j++) {
      q[j]! *= gamma;
    }
    for (let k = 0; k < sHist.length; k++) {
      const b = rho[k]! * dot(yHist[k]!, q);
      const sk = sHist[k]!;
      const a = alpha[k]!;
      for (let j = 0; j < p; j++) {
        q[j]! += (a - b) * sk[j]!;
      }
    }
    let slope = -dot(grad, q);
    if (!(slope < 0)) {
      // Not a descent direction (numerically): restart from steepest descent.
      sHist.length = 0;
      yHist.length = 0;
      rho.length = 0;
      const scale = Math.min(1, 1 / maxAbs(grad));
      q.set(grad.map((g) => g * scale));
      slope = -dot(grad, q);
    }
    let step = 1;
    let nextLoss = Number.POSITIVE_INFINITY;
    let sufficient = false;
    for (let tries = 0; tries < 60 && !sufficient; tries++) {
      for (let j = 0; j < p; j++) {
        next[j] = theta[j]! - step * q[j]!;
      }
      nextLoss = objective(next, z, y, s, l2, nextGrad);
      sufficient = nextLoss <= loss + 1e-4 * step * slope;
      step *= 0.5;
    }
    if (!sufficient) {
      break; // No decrease left at double precision: the gradient is as small as it gets.
    }
    const sk = new Float64Array(p);
    const yk = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      sk[j] = next[j]! - theta[j]!;
      yk[j] = nextGrad[j]! - grad[j]!;
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12 * dot(yk, yk)) {
      sHist.push(sk);
      yHist.push(yk);
      rho.push(1 / sy);
      if (sHist.length > HISTORY) {
        sHist.shift();
        yHist.shift();
        rho.shift();
      }
    }
    const stalled = nextLoss >= loss;
    theta = Float64Array.from(next);
    grad = Float64Array.from(nextGrad);
    loss = nextLoss;
    converged = maxAbs(grad) < tolerance;
    if (stalled) {
      break; // The objective no longer decreases at double precision.
    }
  }

  const standardisedWeights = theta.slice(0, d);
  const standardisedBias = theta[d]!;
  const weights = standardisedWeights.map((v, j) => v / std[j]!);
  const bias = standardisedBias - dot(weights, mean);
  return { weights, bias, mean, std, standardisedWeights, standardisedBias, iterations, loss, converged };
}

/** The head's logit for one feature row of the original space: weights . x + bias. */
export function headLogit(head: Pick<LogisticHead, 'weights' | 'bias'>, x: FeatureRow): number {
  if (x.length !== head.weights.length) {
    throw new RangeError(`the row has ${x.length} features, the head ${head.weights.length}`);
  }
  let t = head.bias;
  for (let j = 0; j < x.length; j++) {
    t += head.weights[j]! * x[j]!;
  }
  return t;
}

/** The head's probability for one feature row: sigmoid of its logit. */
export function headProbability(head: Pick<LogisticHead, 'weights' | 'bias'>, x: FeatureRow): number {
  return sigmoid(headLogit(head, x));
}
