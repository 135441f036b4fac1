/**
 * Whether a learned pattern head may replace the installed one (issue #16): the decision that
 * becomes acceptance.json. Refused, with every reason that applies, when
 *   - the annotated images hold fewer than 30 positives or fewer than 30 negatives of the pattern;
 *   - the lower bound of the out-of-fold AUC's 95% CI is under 0.70;
 *   - the candidate model's BCC outputs on the annotated images are not exactly those of the
 *     installed model (a pattern head must not move the BCC call).
 * It also reports the criterion's consistency before and after: among images called BCC, the share
 * with a present positive-role (BCC) pattern, with the installed heads and with the candidate's.
 * That is reported, not a reason to refuse. Pure: every number comes from the input.
 */
import type { AucEstimate, Proportion } from '../common/stats/confidence.ts';
import { wilson } from '../common/stats/confidence.ts';

export const MIN_POSITIVES = 30;
export const MIN_NEGATIVES = 30;
export const MIN_AUC_LOWER_BOUND = 0.7;

export interface AcceptanceInput {
  /** Annotated images' labels for the pattern (1 present, 0 absent). */
  readonly labels: readonly number[];
  /** Out-of-fold AUC with its 95% CI (groupedCrossValidate). */
  readonly auc: AucEstimate;
  /** BCC output of each annotated image under the installed model and under the candidate. */
  readonly installedBcc: ArrayLike<number>;
  readonly candidateBcc: ArrayLike<number>;
  /** The BCC operating point that calls an image BCC (bcc >= threshold; npm run learn uses the manifest's `triage` point). */
  readonly bccThreshold: number;
  /** Per image: is any positive-role pattern present, with the installed heads, and with the candidate's. */
  readonly bccPatternBefore: readonly boolean[];
  readonly bccPatternAfter: readonly boolean[];
}

export type RefusalReason =
  | { readonly code: 'too-few-positives'; readonly message: string; readonly positives: number; readonly required: number }
  | { readonly code: 'too-few-negatives'; readonly message: string; readonly negatives: number; readonly required: number }
  | { readonly code: 'auc-too-low'; readonly message: string; readonly lowerBound: number; readonly required: number }
  | { readonly code: 'bcc-outputs-changed'; readonly message: string; readonly differing: number; readonly firstIndex: number };

/**
 * acceptance.json:
 * - `accepted`: true exactly when `reasons` is empty.
 * - `reasons`: each refusal, with a stable `code`, a sentence for the user and its numbers.
 * - `positives`, `negatives`: annotated images with the pattern present / absent.
 * - `auc`: out-of-fold AUC, its 95% CI [lower, upper], images and positives it was computed on.
 * - `bccOutputs`: images compared, how many differ (exact equality), whether all are identical.
 * - `consistency`: share of BCC-called images with a present BCC pattern, `before` (installed
 *   heads) and `after` (candidate), each {value, ci95 Wilson, k, n}; `change` = after - before.
 * - `thresholds`: the minimums the decision used.
 */
export interface Acceptance {
  readonly accepted: boolean;
  readonly reasons: readonly RefusalReason[];
  readonly positives: number;
  readonly negatives: number;
  readonly auc: { readonly value: number; readonly ci95: readonly [number, number]; readonly n: number; readonly positives: number };
  readonly bccOutputs: { readonly compared: number; readonly differing: number; readonly identical: boolean };
  readonly consistency: {
    readonly bccThreshold: number;
    readonly before: Proportion;
    readonly after: Proportion;
    readonly change: number;
  };
  readonly thresholds: { readonly minPositives: number; readonly minNegatives: number; readonly minAucLowerBound: number };
}

/** Refusals for too few annotated images on either side; also what npm run learn says when it cannot fit at all. */
export function countReasons(positives: number, negatives: number): RefusalReason[] {
  return [
    ...(positives < MIN_POSITIVES
      ? [{ code: 'too-few-positives' as const, message: `${positives} annotated images show the pattern; at least ${MIN_POSITIVES} are needed`, positives, required: MIN_POSITIVES }]
      : []),
    ...(negatives < MIN_NEGATIVES
      ? [{ code: 'too-few-negatives' as const, message: `${negatives} annotated images lack the pattern; at least ${MIN_NEGATIVES} are needed`, negatives, required: MIN_NEGATIVES }]
      : []),
  ];
}

function checkLength(name: string, length: number, expected: number): void {
  if (length !== expected) {
    throw new RangeError(`${name} has ${length} values, labels has ${expected}`);
  }
}

export function decideAcceptance(input: AcceptanceInput): Acceptance {
  const n = input.labels.length;
  checkLength('installedBcc', input.installedBcc.length, n);
  checkLength('candidateBcc', input.candidateBcc.length, n);
  checkLength('bccPatternBefore', input.bccPatternBefore.length, n);
  checkLength('bccPatternAfter', input.bccPatternAfter.length, n);
  const positives = input.labels.filter((y) => y === 1).length;
  const negatives = input.labels.filter((y) => y === 0).length;
  if (positives + negatives !== n) {
    throw new RangeError('labels must be 0 or 1');
  }
  const reasons: RefusalReason[] = [...countReasons(positives, negatives)];
  const lowerBound = input.auc.ci95[0];
  // NaN (a class missing from the bootstrap) refuses too.
  if (!(lowerBound >= MIN_AUC_LOWER_BOUND)) {
    reasons.push({
      code: 'auc-too-low',
      message: `the out-of-fold AUC's 95% CI starts at ${lowerBound.toFixed(3)}; at least ${MIN_AUC_LOWER_BOUND} is needed`,
      lowerBound,
      required: MIN_AUC_LOWER_BOUND,
    });
  }
  let differing = 0;
  let firstIndex = -1;
  for (let i = 0; i < n; i++) {
    // Object.is: exactly equal, and NaN equals NaN (the same non-output on both sides).
    if (!Object.is(input.installedBcc[i], input.candidateBcc[i])) {
      differing++;
      firstIndex = firstIndex < 0 ? i : firstIndex;
    }
  }
  if (differing > 0) {
    reasons.push({
      code: 'bcc-outputs-changed',
      message: `the candidate's BCC output differs from the installed model's on ${differing} of ${n} annotated images`,
      differing,
      firstIndex,
    });
  }
  const before = shareWithPattern(input.installedBcc, input.bccPatternBefore, input.bccThreshold);
  const after = shareWithPattern(input.candidateBcc, input.bccPatternAfter, input.bccThreshold);
  return {
    accepted: reasons.length === 0,
    reasons,
    positives,
    negatives,
    auc: { value: input.auc.value, ci95: [input.auc.ci95[0], input.auc.ci95[1]], n: input.auc.n, positives: input.auc.positives },
    bccOutputs: { compared: n, differing, identical: differing === 0 },
    consistency: { bccThreshold: input.bccThreshold, before, after, change: after.value - before.value },
    thresholds: { minPositives: MIN_POSITIVES, minNegatives: MIN_NEGATIVES, minAucLowerBound: MIN_AUC_LOWER_BOUND },
  };
}

function shareWithPattern(bcc: ArrayLike<number>, present: readonly boolean[], threshold: number): Proportion {
  let called = 0;
  let withPattern = 0;
  for (let i = 0; i < bcc.length; i++) {
    if (bcc[i]! >= threshold) {
      called++;
      withPattern += present[i] ? 1 : 0;
    }
  }
  return wilson(withPattern, called);
}
