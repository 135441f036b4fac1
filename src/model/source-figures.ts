/**
 * The manifest's honest figures per source, in one shape: grouped out-of-fold (modelCard.metrics,
 * gate.modality.metrics: 5-fold CV grouped by lesion, the shipped recipe) and leave-one-source-out
 * (loso: a re-fit of the recipe per held-out source). The model card and `npm run evaluate` show them.
 */
import { z } from 'zod';
import type { ModelManifest } from './manifest.ts';

const figure = z.object({ value: z.number() }).loose();
const oofBcc = z.record(z.string(), z.object({ auc: figure, triage: z.object({ sensitivity: figure, specificity: figure }).loose() }).loose());
const oofGate = z.record(z.string(), z.object({ dermoscopicAccepted: figure.optional(), clinicalRejected: figure.optional() }).loose());

export interface SourceEstimate {
  readonly bccAuc?: number;
  readonly triageSensitivity?: number;
  readonly triageSpecificity?: number;
  readonly gateDermoscopicAccepted?: number;
  readonly gateClinicalRefused?: number;
  readonly pigmentNetworkSensitivityAtSpecificity90?: number;
}

export interface HonestEstimate {
  readonly kind: 'grouped out-of-fold' | 'leave-one-source-out';
  /** Where in the manifest, and what it was made from. */
  readonly from: string;
  readonly bySource: Readonly<Record<string, SourceEstimate>>;
}

export function outOfFoldBySource(manifest: ModelManifest): HonestEstimate | undefined {
  const bcc = oofBcc.safeParse((manifest.modelCard.metrics as { bcc?: unknown } | undefined)?.bcc);
  if (!bcc.success) {
    return undefined;
  }
  const metrics = manifest.gate?.modality?.metrics;
  const gate = oofGate.safeParse({ all: metrics, ...(metrics?.bySource as object | undefined) });
  const bySource: Record<string, SourceEstimate> = {};
  for (const [s, b] of Object.entries(bcc.data)) {
    bySource[s] = { bccAuc: b.auc.value, triageSensitivity: b.triage.sensitivity.value, triageSpecificity: b.triage.specificity.value };
  }
  for (const [s, g] of Object.entries(gate.success ? gate.data : {})) {
    // The data set lists the clinical photos of a source's lesions as `<source>-clinical`.
    const key = s.replace(/-clinical$/, '');
    bySource[key] = {
      ...bySource[key],
      ...(g.dermoscopicAccepted ? { gateDermoscopicAccepted: g.dermoscopicAccepted.value } : {}),
      ...(g.clinicalRejected ? { gateClinicalRefused: g.clinicalRejected.value } : {}),
    };
  }
  return { kind: 'grouped out-of-fold', from: 'manifest modelCard.metrics and gate.modality.metrics (5-fold CV grouped by lesion, the shipped recipe)', bySource };
}

export function leaveOneSourceOutBySource(manifest: ModelManifest): HonestEstimate | undefined {
  const loso = manifest.loso;
  if (!loso) {
    return undefined;
  }
  const bySource: Record<string, SourceEstimate> = {};
  for (const [s, h] of Object.entries(loso.heldOut)) {
    bySource[s] = {
      bccAuc: h.bccAuc.value,
      triageSensitivity: h.triage.sensitivity.value,
      triageSpecificity: h.triage.specificity.value,
      gateDermoscopicAccepted: h.gate.dermoscopicAccepted.value,
      ...(h.gate.clinicalRejected ? { gateClinicalRefused: h.gate.clinicalRejected.value } : {}),
      ...(h.pigmentNetwork ? { pigmentNetworkSensitivityAtSpecificity90: h.pigmentNetwork.sensitivityAtSpecificity90 } : {}),
    };
  }
  return { kind: 'leave-one-source-out', from: `manifest loso (${loso.from}; ${loso.recipe}; ${loso.fit})`, bySource };
}

