/**
 * Fleiss' kappa (Fleiss, "Measuring nominal scale agreement among many raters", Psychol. Bull.
 * 76(5), 1971) for items rated by varying numbers of raters.
 *
 * Variant (Fleiss' formulas with n_i in place of a constant n): an item's agreement is
 * P_i = sum_k n_ik (n_ik - 1) / (n_i (n_i - 1)), the share of agreeing ordered rater pairs on it;
 * P-bar is the unweighted mean of P_i over items with at least two ratings (an item rated once has
 * no pairs and is left out); category shares p_k pool every rating of those items; P_e = sum p_k^2;
 * kappa = (P-bar - P_e) / (1 - P_e). With a constant number of raters this is Fleiss' original.
 * It is undefined (null) when no item has two ratings or when every rating falls in one category
 * (P_e = 1).
 */
export interface AgreementStatistic {
  /** null when undefined (see above). */
  readonly value: number | null;
  /** Items that entered the statistic. */
  readonly items: number;
}

/** counts[i][k] = how many raters put item i in category k. */
export function computeFleissKappa(counts: readonly (readonly number[])[]): AgreementStatistic & { readonly ratings: number; readonly observed: number | null; readonly expected: number | null } {
  const kept = counts.filter((row) => row.reduce((a, b) => a + b, 0) >= 2);
  if (kept.length === 0) {
    return { value: null, items: 0, ratings: 0, observed: null, expected: null };
  }
  const categories = Math.max(...kept.map((r) => r.length));
  const totals = new Array<number>(categories).fill(0);
  let ratings = 0;
  let agreement = 0;
  for (const row of kept) {
    const n = row.reduce((a, b) => a + b, 0);
    ratings += n;
    agreement += row.reduce((a, c) => a + c * (c - 1), 0) / (n * (n - 1));
    row.forEach((c, k) => {
      totals[k]! += c;
    });
  }
  const observed = agreement / kept.length;
  const expected = totals.reduce((a, t) => a + (t / ratings) ** 2, 0);
  const value = expected >= 1 ? null : (observed - expected) / (1 - expected);
  return { value, items: kept.length, ratings, observed, expected };
}
