import type { ModelManifest, PatternRole } from './manifest.ts';
import type { ModelOutputs } from './session.ts';
import { calibrate } from './calibration.ts';

export const PATTERN_STATUSES = ['present', 'absent', 'not-assessed'] as const;
export type PatternStatus = (typeof PATTERN_STATUSES)[number];

/** One dermoscopic pattern as the installed model sees it. */
export interface PatternFinding {
  readonly id: string;
  readonly display: string;
  readonly role: PatternRole;
  readonly status: PatternStatus;
  /** Only for patterns the model was trained on: an untrained head's number means nothing. */
  readonly probability?: number;
  readonly threshold?: number;
}

export interface ModelFindings {
  /** Calibrated (manifest `calibration`); the raw output when the model ships no calibration. */
  readonly bccProbability: number;
  /** The network's raw `bcc` output, before calibration. */
  readonly bccScore: number;
  readonly patterns: readonly PatternFinding[];
}

/** Reads raw outputs with the manifest's thresholds; untrained patterns are "not assessed", never guessed. */
export function readFindings(out: Pick<ModelOutputs, 'bcc' | 'patterns'>, manifest: ModelManifest): ModelFindings {
  const patterns = manifest.patterns.map((p, j): PatternFinding => {
    const base = { id: p.id, display: p.display, role: p.role };
    if (!p.trained || p.threshold === null) {
      return { ...base, status: 'not-assessed' };
    }
    const probability = out.patterns[j] ?? Number.NaN;
    return { ...base, status: probability >= p.threshold ? 'present' : 'absent', probability, threshold: p.threshold };
  });
  return { bccProbability: calibrate(out.bcc, manifest.calibration), bccScore: out.bcc, patterns };
}
