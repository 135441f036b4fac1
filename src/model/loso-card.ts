import { z } from 'zod';
import { withTopLevelKey } from '../common/json-top-level-key.ts';

/**
 * The manifest's `loso` section: leave-one-source-out figures of the shipped model's recipe (fit on
 * the other sources, measured on the held-out one), beside the grouped out-of-fold figures of
 * `modelCard.metrics`, with issue #21's targets and whether each is met. Written by `npm run
 * model-card-loso` from a training run's loso.json (src/tools/cli/model-card-loso.ts), never typed
 * by hand. The figures are of a re-fit of the recipe, not of the shipped weights.
 */
const fraction = z.number().min(0).max(1);
const interval = z.tuple([fraction, fraction]);
const proportion = z.object({ value: fraction, ci95: interval, k: z.number().int().min(0), n: z.number().int().min(0) });
const auc = z.object({ value: fraction, ci95: interval, n: z.number().int().min(0), positives: z.number().int().min(0) });

/** Issue #21's targets on a source the training did not see. */
export const LOSO_TARGETS = [
  { id: 'gate-dermoscopic-accepted', text: 'dermoscopic images accepted by the gate', min: 0.98 },
  { id: 'gate-clinical-refused', text: 'clinical photos refused by the gate', min: 0.97 },
  { id: 'pigment-network-sensitivity-at-specificity-0.9', text: 'pigment network detected (sensitivity) at >= 90% specificity', min: 0.9 },
  { id: 'bcc-auc', text: 'BCC AUC no worse than 1.5.0', min: null },
  { id: 'triage', text: 'triage sensitivity no worse than 1.5.0 (specificity beside it)', min: null },
  { id: 'heatmap', text: 'heatmap localisation (inside/outside ratio) no worse than 1.5.0', min: null },
] as const;
export type LosoTargetId = (typeof LOSO_TARGETS)[number]['id'];

const targetResultSchema = z.object({
  id: z.enum(LOSO_TARGETS.map((t) => t.id) as [LosoTargetId, ...LosoTargetId[]]),
  /** The measured value the target is judged on; null when it cannot be measured on this source. */
  value: z.number().nullable(),
  /** null: not judged (not measurable, or the 1.5.0 recipe is itself the reference). */
  met: z.boolean().nullable(),
  note: z.string().optional(),
});

const heldOutSchema = z.object({
  trainedOn: z.array(z.string().min(1)).min(1),
  images: z.number().int().min(0),
  bcc: z.number().int().min(0),
  bccAuc: auc,
  triage: z.object({ threshold: z.number(), thresholdFrom: z.string(), sensitivity: proportion, specificity: proportion }),
  gate: z.object({ dermoscopicAccepted: proportion, clinicalRejected: proportion.nullable() }),
  pigmentNetwork: z.object({ sensitivityAtSpecificity90: fraction, auc, note: z.string().optional() }).nullable(),
  heatmapRatio: z.number().nullable(),
  targets: z.array(targetResultSchema),
});

export const losoCardSchema = z
  .object({
    /** The training recipe the figures are of (config file and the version it shipped as). */
    recipe: z.string().min(1),
    /** That these are re-fits of the recipe, not the shipped weights, in words. */
    fit: z.string().min(1),
    /** The run's own description of the protocol (loso.json `kind`). */
    protocol: z.string().min(1),
    /** The loso.json it was built from (repository path) and its sha256. */
    from: z.string().min(1),
    fromSha256: z.string().regex(/^[0-9a-f]{64}$/),
    targets: z.array(z.object({ id: z.string(), text: z.string(), min: z.number().nullable() })),
    /** Per held-out source. */
    heldOut: z.record(z.string(), heldOutSchema),
  })
  .loose();

export type LosoCard = z.infer<typeof losoCardSchema>;
export type LosoHeldOut = LosoCard['heldOut'][string];

/** The part of a training run's loso.json (training/bcc_mtl) this reads. */
const losoRunSchema = z.object({
  kind: z.string().min(1),
  sources: z.record(
    z.string(),
    z.object({
      heldOut: z.string(),
      trainedOn: z.array(z.string()),
      images: z.number().int(),
      bcc: z.number().int(),
      bccAuc: auc,
      triage: z.object({ threshold: z.number(), thresholdFrom: z.string(), sensitivity: proportion, specificity: proportion }),
      gate: z.object({ dermoscopicAccepted: proportion, clinicalRejected: proportion.nullable().optional() }),
      pigmentNetwork: z.object({ 'sensitivityAtSpecificity0.9': fraction.optional(), auc: auc.optional(), note: z.string().optional() }).loose(),
      heatmap: z.object({ n: z.number().int(), ratio: z.number().optional() }).loose(),
    }),
  ),
});
export type LosoRun = z.infer<typeof losoRunSchema>;

export function parseLosoRun(json: unknown): LosoRun {
  return losoRunSchema.parse(json);
}

function judge(id: LosoTargetId, value: number | null): { id: LosoTargetId; value: number | null; met: boolean | null; note?: string } {
  const target = LOSO_TARGETS.find((t) => t.id === id)!;
  if (value === null) {
    return { id, value, met: null, note: 'not measurable on this source' };
  }
  if (target.min === null) {
    return { id, value, met: null, note: 'the 1.5.0 recipe is the reference: later recipes are held to this figure' };
  }
  return { id, value, met: value >= target.min };
}

export interface LosoCardOptions {
  readonly recipe: string;
  readonly fit: string;
  readonly from: string;
  readonly fromSha256: string;
}

/** The manifest's `loso` section from a run's loso.json; each held-out source judged against issue #21's targets. */
export function buildLosoCard(run: LosoRun, opts: LosoCardOptions): LosoCard {
  const heldOut: Record<string, LosoHeldOut> = {};
  for (const [source, s] of Object.entries(run.sources).sort(([a], [b]) => a.localeCompare(b))) {
    const pnSens = s.pigmentNetwork['sensitivityAtSpecificity0.9'];
    const pigmentNetwork = pnSens !== undefined && s.pigmentNetwork.auc ? { sensitivityAtSpecificity90: pnSens, auc: s.pigmentNetwork.auc, ...(s.pigmentNetwork.note ? { note: s.pigmentNetwork.note } : {}) } : null;
    const heatmapRatio = s.heatmap.n > 0 && s.heatmap.ratio !== undefined ? s.heatmap.ratio : null;
    const clinical = s.gate.clinicalRejected ?? null;
    heldOut[source] = {
      trainedOn: s.trainedOn,
      images: s.images,
      bcc: s.bcc,
      bccAuc: s.bccAuc,
      triage: { threshold: s.triage.threshold, thresholdFrom: s.triage.thresholdFrom, sensitivity: s.triage.sensitivity, specificity: s.triage.specificity },
      gate: { dermoscopicAccepted: s.gate.dermoscopicAccepted, clinicalRejected: clinical },
      pigmentNetwork,
      heatmapRatio,
      targets: [
        judge('gate-dermoscopic-accepted', s.gate.dermoscopicAccepted.value),
        judge('gate-clinical-refused', clinical?.value ?? null),
        judge('pigment-network-sensitivity-at-specificity-0.9', pigmentNetwork?.sensitivityAtSpecificity90 ?? null),
        judge('bcc-auc', s.bccAuc.value),
        judge('triage', s.triage.sensitivity.value),
        judge('heatmap', heatmapRatio),
      ],
    };
  }
  return {
    recipe: opts.recipe,
    fit: opts.fit,
    protocol: run.kind,
    from: opts.from,
    fromSha256: opts.fromSha256,
    targets: LOSO_TARGETS.map((t) => ({ id: t.id, text: t.text, min: t.min })),
    heldOut,
  };
}

/** The manifest text with its top-level `loso` set to `loso`, every other byte as it was. */
export function withLosoSection(manifestText: string, loso: LosoCard): string {
  return withTopLevelKey(manifestText, 'loso', loso);
}
