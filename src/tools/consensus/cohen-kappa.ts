/**
 * Cohen's kappa for two raters on binary votes (Cohen, Educ. Psychol. Meas. 20(1), 1960), over the
 * items both rated; null when they share no item or when both always gave the same one answer
 * (expected agreement 1).
 */
import type { AgreementStatistic } from './fleiss-kappa.ts';
import type { BinaryVote, VoteMatrix } from './vote-matrix.ts';

export interface PairedVotes {
  readonly a: BinaryVote;
  readonly b: BinaryVote;
}

export function computeCohenKappa(pairs: readonly PairedVotes[]): AgreementStatistic {
  const n = pairs.length;
  if (n === 0) {
    return { value: null, items: 0 };
  }
  const agree = pairs.filter((p) => p.a === p.b).length / n;
  const aYes = pairs.filter((p) => p.a === 1).length / n;
  const bYes = pairs.filter((p) => p.b === 1).length / n;
  const expected = aYes * bYes + (1 - aYes) * (1 - bYes);
  return { value: expected >= 1 ? null : (agree - expected) / (1 - expected), items: n };
}

export interface PairwiseKappa extends AgreementStatistic {
  readonly raters: readonly [string, string];
}

/** Cohen's kappa for every pair of raters, in rater order. */
export function computePairwiseCohenKappa(m: VoteMatrix): PairwiseKappa[] {
  const out: PairwiseKappa[] = [];
  for (let a = 0; a < m.raters.length; a++) {
    for (let b = a + 1; b < m.raters.length; b++) {
      const pairs: PairedVotes[] = [];
      for (const cell of m.votes) {
        const va = cell.find((v) => v.rater === a);
        const vb = cell.find((v) => v.rater === b);
        if (va && vb) {
          pairs.push({ a: va.value, b: vb.value });
        }
      }
      out.push({ raters: [m.raters[a]!, m.raters[b]!], ...computeCohenKappa(pairs) });
    }
  }
  return out;
}
