/**
 * Why an image is refused or flagged before (or instead of) being scored. Declared once: the
 * quality checks (this folder) and the model-based checks (modality, out-of-distribution) share
 * these codes, and models/image-gate.json holds the clinician-facing text of each.
 */
export const GATE_REASONS = [
  'low-resolution',
  'blurred',
  'over-exposed',
  'under-exposed',
  'lesion-cut-off',
  'lesion-off-centre',
  'not-dermoscopic',
  'out-of-distribution',
] as const;
export type GateReasonCode = (typeof GATE_REASONS)[number];

/** The reasons measured from the pixels by src/gate/quality-measures.ts (no model needed). */
export const QUALITY_REASONS = ['low-resolution', 'blurred', 'over-exposed', 'under-exposed', 'lesion-cut-off', 'lesion-off-centre'] as const satisfies readonly GateReasonCode[];
export type QualityReasonCode = (typeof QUALITY_REASONS)[number];

/** The reasons decided by the model's own gate outputs (manifest `gate`: `dermoscopy`, `ood`). */
export const MODEL_REASONS = ['not-dermoscopic', 'out-of-distribution'] as const satisfies readonly GateReasonCode[];
export type ModelReasonCode = (typeof MODEL_REASONS)[number];

/** One failed check, in words and numbers: `measured` broke `limit`. */
export interface GateReason {
  readonly code: GateReasonCode;
  readonly text: string;
  readonly measured: number;
  readonly limit: number;
}

export function isGateReasonCode(s: string): s is GateReasonCode {
  return (GATE_REASONS as readonly string[]).includes(s);
}
