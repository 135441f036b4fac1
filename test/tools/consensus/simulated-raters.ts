/**
 * Seeded simulation of raters with known sensitivity and specificity, for testing consensus
 * estimators against a truth they cannot see.
 */
import type { LabelledVote } from '../../../src/tools/consensus/vote-matrix.ts';
import { mulberry32 } from '../../../src/common/stats/random.ts';

export interface SimulatedRater {
  readonly name: string;
  readonly sensitivity: number;
  readonly specificity: number;
}

export interface Simulation {
  readonly truth: readonly (0 | 1)[];
  readonly votes: readonly LabelledVote[];
}

/** Item names are `i0`, `i1`, ...; each vote is skipped with probability `missing`. */
export function simulateRaters(opts: { readonly items: number; readonly prior: number; readonly raters: readonly SimulatedRater[]; readonly missing: number; readonly seed: number }): Simulation {
  const random = mulberry32(opts.seed);
  const truth: (0 | 1)[] = [];
  const votes: LabelledVote[] = [];
  for (let i = 0; i < opts.items; i++) {
    const t: 0 | 1 = random() < opts.prior ? 1 : 0;
    truth.push(t);
    for (const r of opts.raters) {
      const skip = random() < opts.missing;
      const u = random();
      if (!skip) {
        const value: 0 | 1 = t === 1 ? (u < r.sensitivity ? 1 : 0) : u < r.specificity ? 0 : 1;
        votes.push({ item: `i${i}`, rater: r.name, value });
      }
    }
  }
  return { truth, votes };
}
