import type { RuleSet, TriageCategory } from '../rules/rule-set.ts';

export interface RankableImage {
  readonly category: TriageCategory;
  readonly bccProbability: number;
}

/**
 * The image that sets the referral's priority: the most urgent category by the rule file's `rank`
 * (1 = most urgent), ties broken by the higher BCC probability, then by referral order. One
 * suspicious lesion among several benign ones must still move the referral up the queue.
 * Returns -1 for an empty list.
 */
export function selectDecidingImage(images: readonly RankableImage[], rules: RuleSet): number {
  const rank = (c: TriageCategory): number => rules.categories.find((k) => k.code === c)?.rank ?? Number.POSITIVE_INFINITY;
  let best = -1;
  images.forEach((img, k) => {
    const cur = best >= 0 ? images[best] : undefined;
    if (!cur) {
      best = k;
      return;
    }
    const dr = rank(img.category) - rank(cur.category);
    if (dr < 0 || (dr === 0 && img.bccProbability > cur.bccProbability)) {
      best = k;
    }
  });
  return best;
}
