/**
 * A pattern's threshold, by the rule of the shipped pattern heads (training/bcc_mtl/metrics.py
 * `youden`, called from pipeline.py `operating_points` on out-of-fold probabilities): among the
 * distinct scores t, ascending, the one maximising Youden's J = sensitivity + specificity - 1 where
 * "present" means score >= t; ties go to the lowest such t (strict improvement only). Training then
 * rounds it to 6 decimals in the manifest (manifest.py); that rounding belongs with writing the
 * manifest, not here. Pure.
 */

export interface YoudenThreshold {
  readonly threshold: number;
  readonly sensitivity: number;
  readonly specificity: number;
  /** sensitivity + specificity - 1 at the threshold. */
  readonly youden: number;
}

export function chooseThreshold(labels: readonly number[], scores: ArrayLike<number>): YoudenThreshold {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels has ${labels.length} values, scores has ${scores.length}`);
  }
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.filter((y) => y === 0).length;
  if (positives + negatives !== labels.length || positives === 0 || negatives === 0) {
    throw new RangeError(`labels must be 0 or 1 with both classes, got ${positives} positives and ${negatives} negatives`);
  }
  const rows = Array.from(labels, (y, i) => ({ y, s: scores[i]! }));
  if (rows.some((r) => Number.isNaN(r.s))) {
    throw new RangeError('scores holds NaN');
  }
  // Ascending by score; walking up, rows below t are called absent.
  rows.sort((a, b) => a.s - b.s);
  let best: YoudenThreshold | undefined;
  let negBelow = 0;
  let posBelow = 0;
  let k = 0;
  while (k < rows.length) {
    const t = rows[k]!.s;
    const sensitivity = (positives - posBelow) / positives;
    const specificity = negBelow / negatives;
    const j = sensitivity + specificity - 1;
    if (!best || j > best.youden) {
      best = { threshold: t, sensitivity, specificity, youden: j };
    }
    for (; k < rows.length && rows[k]!.s === t; k++) {
      if (rows[k]!.y === 1) {
        posBelow++;
      } else {
        negBelow++;
      }
    }
  }
  return best!;
}
