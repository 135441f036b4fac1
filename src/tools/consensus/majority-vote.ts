import type { BinaryVote, VoteMatrix } from './vote-matrix.ts';

export interface MajorityDecision {
  readonly positives: number;
  readonly votes: number;
  /** 'tie' when as many raters said 1 as 0 (or nobody voted). */
  readonly decision: BinaryVote | 'tie';
}

/** Plain majority per item, ties reported as such (the caller decides what a tie means). */
export function takeMajorityVote(m: VoteMatrix): MajorityDecision[] {
  return m.votes.map((cell) => {
    const positives = cell.filter((v) => v.value === 1).length;
    const negatives = cell.length - positives;
    return { positives, votes: cell.length, decision: positives > negatives ? 1 : positives < negatives ? 0 : 'tie' };
  });
}

/**
 * Share of positive votes per item: the soft majority vote that starts EM. A tie starts at 0.5, so
 * EM, not an arbitrary rule, settles it.
 */
export function computePositiveShares(m: VoteMatrix): number[] {
  return m.votes.map((cell) => (cell.length === 0 ? 0.5 : cell.filter((v) => v.value === 1).length / cell.length));
}
