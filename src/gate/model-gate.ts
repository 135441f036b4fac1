import type { ModelManifest } from '../model/manifest.ts';
import type { ModelOutputs } from '../model/session.ts';
import type { GateAction, GateConfig } from './gate-config.ts';
import { reasonText } from './gate-config.ts';
import type { GateReason, GateReasonCode } from './gate-reasons.ts';

export interface ModelGateVerdict {
  /** Checks whose action is `reject`: the image's score is withheld. */
  readonly rejections: readonly GateReason[];
  /** Checks whose action is `warn`: scored, with the reason shown beside the score. */
  readonly warnings: readonly GateReason[];
}

/**
 * The model-based half of the gate: the network's own modality head (`dermoscopy`: is this a
 * dermoscopic image?) and its out-of-distribution distance (`ood`), against thresholds chosen on
 * out-of-fold predictions (manifest `gate`). A model without these outputs gates nothing here;
 * `describeModelGate` says so in every output.
 */
export function judgeModelGate(out: Pick<ModelOutputs, 'dermoscopy' | 'ood'>, manifest: Pick<ModelManifest, 'gate'>, config: GateConfig): ModelGateVerdict {
  const failed: GateReason[] = [];
  const modality = manifest.gate?.modality;
  // NaN (a broken output) must fail, so the comparisons are written to fail closed.
  if (modality && out.dermoscopy !== undefined && !(out.dermoscopy >= modality.threshold)) {
    failed.push({ code: 'not-dermoscopic', text: reasonText(config, 'not-dermoscopic', out.dermoscopy, modality.threshold), measured: out.dermoscopy, limit: modality.threshold });
  }
  const ood = manifest.gate?.ood;
  if (ood && out.ood !== undefined && !(out.ood <= ood.threshold)) {
    failed.push({ code: 'out-of-distribution', text: reasonText(config, 'out-of-distribution', out.ood, ood.threshold), measured: out.ood, limit: ood.threshold });
  }
  const checks: Partial<Record<GateReasonCode, GateAction>> = config.modelChecks;
  const action = (r: GateReason): string => checks[r.code] ?? 'reject';
  return { rejections: failed.filter((r) => action(r) === 'reject'), warnings: failed.filter((r) => action(r) === 'warn') };
}

/** Which gate checks the installed model can make, in words (cards, reports, model card). */
export function describeModelGate(manifest: Pick<ModelManifest, 'gate' | 'outputs'>): string {
  const parts: string[] = [];
  if (manifest.gate?.modality && manifest.outputs.dermoscopy) {
    parts.push('whether the image is dermoscopic');
  }
  if (manifest.gate?.ood && manifest.outputs.ood) {
    parts.push('whether it resembles the training images');
  }
  return parts.length ? `The model also checks ${parts.join(' and ')}.` : 'This model cannot check whether an image is dermoscopic.';
}
