/**
 * The paper's consistency of the two explanations (Matas et al. 2026): does the network's BCC call
 * agree with the dermoscopic patterns it reports? Computed from predictions alone, so every analysed
 * image counts, labelled or not. Only trained patterns take part: an untrained head's output is
 * "not assessed" and never evidence either way.
 */
import type { ModelFindings, PatternFinding } from '../../model/findings.ts';
import type { Proportion } from '../../common/stats/confidence.ts';
import { wilson } from '../../common/stats/confidence.ts';

export interface ConsistencyRates {
  /** The BCC threshold that splits predicted BCC from predicted non-BCC. */
  readonly threshold: number;
  /** Among images called BCC: share with >= 1 present positive-role pattern. */
  readonly predictedBccWithPositivePattern: Proportion;
  /** Among images called non-BCC: share with a present negative-role pattern (pigment network). */
  readonly predictedNonBccWithPigmentNetwork: Proportion;
  /** Among images with a negative-role pattern present: share called non-BCC. */
  readonly pigmentNetworkPredictedNonBcc: Proportion;
}

function anyPresent(patterns: readonly PatternFinding[], role: PatternFinding['role']): boolean {
  // 'present' is only ever set for trained patterns (readFindings), so status alone selects them.
  return patterns.some((p) => p.role === role && p.status === 'present');
}

/**
 * `threshold` is the manifest's `balanced` operating point in the CLI. Pigment network is the one
 * negative-role pattern of the criterion; a model with more negative patterns counts any of them,
 * as training/train.py does.
 */
export function measureConsistency(findings: readonly ModelFindings[], threshold: number): ConsistencyRates {
  let calledBcc = 0;
  let calledBccWithPositive = 0;
  let calledNon = 0;
  let calledNonWithNegative = 0;
  let withNegative = 0;
  for (const f of findings) {
    const bcc = f.bccProbability >= threshold;
    const negative = anyPresent(f.patterns, 'negative');
    if (bcc) {
      calledBcc++;
      calledBccWithPositive += anyPresent(f.patterns, 'positive') ? 1 : 0;
    } else {
      calledNon++;
      calledNonWithNegative += negative ? 1 : 0;
    }
    withNegative += negative ? 1 : 0;
  }
  return {
    threshold,
    predictedBccWithPositivePattern: wilson(calledBccWithPositive, calledBcc),
    predictedNonBccWithPigmentNetwork: wilson(calledNonWithNegative, calledNon),
    pigmentNetworkPredictedNonBcc: wilson(calledNonWithNegative, withNegative),
  };
}
