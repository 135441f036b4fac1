/** Binary votes of several raters on several items, for one label: the input of every estimator here. */
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';

export type BinaryVote = 0 | 1;

export interface RaterVote {
  /** Index into VoteMatrix.raters. */
  readonly rater: number;
  readonly value: BinaryVote;
}

/**
 * Sparse items x raters matrix: a rater who did not vote on an item simply has no entry there
 * (missing votes carry no information; they are not negatives).
 */
export interface VoteMatrix {
  readonly items: readonly string[];
  readonly raters: readonly string[];
  /** votes[i] = the votes on items[i]; at most one per rater. */
  readonly votes: readonly (readonly RaterVote[])[];
}

export interface LabelledVote {
  readonly item: string;
  readonly rater: string;
  readonly value: BinaryVote;
}

/**
 * Groups votes into a matrix. Items keep first-seen order; raters follow `raterOrder` when given
 * (e.g. the sheet's annotator order, so every label lists annotators alike), else first-seen
 * order. Only raters who voted are included. Throws on two votes by one rater on one item:
 * callers resolve duplicates first.
 */
export function buildVoteMatrix(votes: readonly LabelledVote[], raterOrder: readonly string[] = []): VoteMatrix {
  const voted = new Set(votes.map((v) => v.rater));
  const raters = [...new Set([...raterOrder.filter((r) => voted.has(r)), ...votes.map((v) => v.rater)])];
  const raterIndex = new Map(raters.map((r, k) => [r, k]));
  const items: string[] = [];
  const itemIndex = new Map<string, number>();
  const byItem: RaterVote[][] = [];
  for (const v of votes) {
    let i = itemIndex.get(v.item);
    if (i === undefined) {
      i = items.push(v.item) - 1;
      itemIndex.set(v.item, i);
      byItem.push([]);
    }
    const r = raterIndex.get(v.rater)!;
    const cell = byItem[i]!;
    if (cell.some((c) => c.rater === r)) {
      throw new OperationOutcomeError(badRequest(`rater ${v.rater} voted twice on ${v.item}`));
    }
    cell.push({ rater: r, value: v.value });
  }
  return { items, raters, votes: byItem };
}

/** Per-item counts [negatives, positives]: the table Fleiss' kappa reads. */
export function countVotes(m: VoteMatrix): number[][] {
  return m.votes.map((cell) => {
    const positives = cell.filter((v) => v.value === 1).length;
    return [cell.length - positives, positives];
  });
}
