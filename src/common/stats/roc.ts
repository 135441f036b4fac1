/**
 * ROC analysis for binary labels (1 = positive, 0 = negative). Pure; no I/O.
 */

/** One point of the empirical ROC curve: predicted positive when score >= threshold. */
export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
  readonly threshold: number;
}

function checkInputs(labels: readonly number[], scores: readonly number[]): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels has ${labels.length} values, scores has ${scores.length}`);
  }
  labels.forEach((y, i) => {
    if (y !== 0 && y !== 1) {
      throw new RangeError(`labels[${i}] is ${y}; labels must be 0 or 1`);
    }
  });
  scores.forEach((s, i) => {
    if (Number.isNaN(s)) {
      throw new RangeError(`scores[${i}] is NaN`);
    }
  });
}

/** Row indices by descending score: the order both the curve and the AUC walk. */
export function orderByScore(scores: readonly number[]): Int32Array {
  const order = Int32Array.from(scores.keys());
  // Compared, not subtracted: Infinity - Infinity would be NaN and break the sort.
  return order.sort((a, b) => {
    const d = scores[b]! - scores[a]!;
    return d > 0 ? 1 : d < 0 ? -1 : 0;
  });
}

/**
 * Mann-Whitney AUC over rows weighted by multiplicity (a bootstrap draws a row 0, 1 or more times).
 * Walking tie blocks from the top, each positive beats the negatives below its block and half-beats
 * those inside it: exactly the rank-sum statistic with average ranks for ties, in O(n) once `order`
 * is known. NaN when a class is missing.
 */
export function weightedAuc(
  labels: readonly number[],
  scores: readonly number[],
  order: Int32Array,
  weights?: ArrayLike<number>,
): number {
  let negTotal = 0;
  let posTotal = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights ? weights[i]! : 1;
    if (labels[i] === 1) {
      posTotal += w;
    } else {
      negTotal += w;
    }
  }
  if (posTotal === 0 || negTotal === 0) {
    return Number.NaN;
  }
  let negAbove = 0;
  let wins = 0;
  let k = 0;
  while (k < order.length) {
    const s = scores[order[k]!]!;
    let pos = 0;
    let neg = 0;
    for (; k < order.length && scores[order[k]!] === s; k++) {
      const i = order[k]!;
      const w = weights ? weights[i]! : 1;
      if (labels[i] === 1) {
        pos += w;
      } else {
        neg += w;
      }
    }
    // Negatives below this block = all negatives - those above - those tied.
    wins += pos * (negTotal - negAbove - neg) + 0.5 * pos * neg;
    negAbove += neg;
  }
  return wins / (posTotal * negTotal);
}

/** Area under the ROC curve (Mann-Whitney with average ranks for ties); NaN when a class is missing. */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  checkInputs(labels, scores);
  return weightedAuc(labels, scores, orderByScore(scores));
}

/**
 * The empirical ROC curve from (0, 0) at threshold +Infinity to (1, 1), one point per distinct
 * score (ties move both rates at once, which is what a threshold can actually do). Empty when a
 * class is missing.
 */
export function rocCurve(labels: readonly number[], scores: readonly number[]): readonly RocPoint[] {
  checkInputs(labels, scores);
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    return [];
  }
  const order = orderByScore(scores);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY }];
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (k < order.length) {
    const s = scores[order[k]!]!;
    for (; k < order.length && scores[order[k]!] === s; k++) {
      if (labels[order[k]!] === 1) {
        tp++;
      } else {
        fp++;
      }
    }
    points.push({ fpr: fp / negatives, tpr: tp / positives, threshold: s });
  }
  return points;
}
