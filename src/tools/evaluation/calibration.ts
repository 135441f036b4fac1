/**
 * Calibration of the BCC probability: does "0.7" mean BCC 7 times in 10? Reliability bins, expected
 * calibration error and Brier score. Labels 1/0, scores in [0, 1].
 */

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  /** Mean predicted probability in the bin; NaN when empty. */
  readonly meanPredicted: number;
  /** Share of positives in the bin; NaN when empty. */
  readonly observedRate: number;
  readonly count: number;
}

export interface Calibration {
  readonly n: number;
  readonly bins: readonly ReliabilityBin[];
  /** Sum over bins of count/n x |observed - predicted|. */
  readonly ece: number;
  readonly brier: number;
}

function checkLengths(labels: readonly number[], scores: readonly number[]): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels has ${labels.length} values, scores has ${scores.length}`);
  }
}

/** Equal-width bins over [0, 1]; each is [lower, upper) except the last, which includes 1. */
export function reliabilityBins(labels: readonly number[], scores: readonly number[], bins = 10): readonly ReliabilityBin[] {
  checkLengths(labels, scores);
  const sums = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const counts = new Float64Array(bins);
  scores.forEach((s, i) => {
    const b = Math.min(Math.max(Math.floor(s * bins), 0), bins - 1);
    sums[b] = sums[b]! + s;
    hits[b] = hits[b]! + (labels[i] === 1 ? 1 : 0);
    counts[b] = counts[b]! + 1;
  });
  return Array.from({ length: bins }, (_, b): ReliabilityBin => {
    const count = counts[b]!;
    return {
      lower: b / bins,
      upper: (b + 1) / bins,
      meanPredicted: count > 0 ? sums[b]! / count : Number.NaN,
      observedRate: count > 0 ? hits[b]! / count : Number.NaN,
      count,
    };
  });
}

export function expectedCalibrationError(bins: readonly ReliabilityBin[]): number {
  const n = bins.reduce((a, b) => a + b.count, 0);
  if (n === 0) {
    return Number.NaN;
  }
  return bins.reduce((a, b) => (b.count > 0 ? a + (b.count / n) * Math.abs(b.observedRate - b.meanPredicted) : a), 0);
}

/** Mean squared error of the probability against the 0/1 outcome; 0 is perfect, 0.25 is a coin. */
export function brierScore(labels: readonly number[], scores: readonly number[]): number {
  checkLengths(labels, scores);
  if (labels.length === 0) {
    return Number.NaN;
  }
  return scores.reduce((a, s, i) => a + (s - labels[i]!) ** 2, 0) / labels.length;
}

export function measureCalibration(labels: readonly number[], scores: readonly number[], bins = 10): Calibration {
  const table = reliabilityBins(labels, scores, bins);
  return { n: labels.length, bins: table, ece: expectedCalibrationError(table), brier: brierScore(labels, scores) };
}
