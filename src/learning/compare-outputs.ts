/**
 * What acceptance compares on the annotated images: the BCC output of the installed model and of
 * the candidate (calibrated, as the triage reads it), and whether each image shows a present
 * positive-role (BCC) pattern under each manifest, read by the same readFindings the service uses.
 * Pure.
 */
import { operatingPoints } from '../model/calibration.ts';
import { readFindings } from '../model/findings.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { ModelOutputs } from '../model/session.ts';

export type ScoredOutputs = Pick<ModelOutputs, 'bcc' | 'patterns'>;

export interface OutputComparison {
  readonly installedBcc: Float64Array;
  readonly candidateBcc: Float64Array;
  readonly bccPatternBefore: boolean[];
  readonly bccPatternAfter: boolean[];
  /** Largest |candidate - installed| of the raw BCC output (0 when identical; NaN never hides: it counts as Infinity). */
  readonly maxAbsDifference: number;
  /** The installed manifest's `triage` operating point on the calibrated scale: an image at or above it is called BCC. */
  readonly bccThreshold: number;
  readonly operatingPoint: 'triage';
}

function anyBccPattern(out: ScoredOutputs, manifest: ModelManifest): boolean {
  return readFindings(out, manifest).patterns.some((p) => p.status === 'present' && p.role === 'positive');
}

export function compareOutputs(installed: ModelManifest, candidate: ModelManifest, before: readonly ScoredOutputs[], after: readonly ScoredOutputs[]): OutputComparison {
  if (before.length !== after.length) {
    throw new RangeError(`${before.length} installed outputs, ${after.length} candidate outputs`);
  }
  let maxAbsDifference = 0;
  before.forEach((b, i) => {
    const d = Math.abs(b.bcc - after[i]!.bcc);
    maxAbsDifference = Math.max(maxAbsDifference, Number.isNaN(d) && !Object.is(b.bcc, after[i]!.bcc) ? Number.POSITIVE_INFINITY : Number.isNaN(d) ? 0 : d);
  });
  const bccThreshold = operatingPoints(installed).triage ?? Number.NaN;
  return {
    installedBcc: Float64Array.from(before, (o) => readFindings(o, installed).bccProbability),
    candidateBcc: Float64Array.from(after, (o) => readFindings(o, candidate).bccProbability),
    bccPatternBefore: before.map((o) => anyBccPattern(o, installed)),
    bccPatternAfter: after.map((o) => anyBccPattern(o, candidate)),
    maxAbsDifference,
    bccThreshold,
    operatingPoint: 'triage',
  };
}
