import { readJsonFile } from '../common/read-json-file.ts';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation-outcome.ts';
import { riskBandsSchema } from './risk-bands.ts';
import { losoCardSchema } from './loso-card.ts';
import { canonicalDigest } from '../common/canonical-json.ts';

/** How the whole image becomes the square network input. */
export const RESIZE_MODES = ['fill', 'cover'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** A pattern's clinical sign in the BCC criterion: `negative` argues against BCC. */
export const PATTERN_ROLES = ['positive', 'negative'] as const;
export type PatternRole = (typeof PATTERN_ROLES)[number];

const rgb = z.tuple([z.number(), z.number(), z.number()]);

/**
 * Shades-of-grey colour constancy (Finlayson and Trezzi 2004), applied to the resized input before
 * normalising, as training did (training/README.md): e_c = (mean x_c^p)^(1/p) per channel,
 * gain_c = clamp(mean(e) / e_c, gainClamp), x'_c = min(1, x_c * gain_c). It evens out the colour
 * casts of other dermatoscopes and lighting.
 */
const colorConstancySchema = z.object({
  method: z.literal('shades-of-grey'),
  p: z.number().min(1).max(32),
  gainClamp: z.tuple([z.number().positive(), z.number().positive()]).refine(([lo, hi]) => lo <= 1 && hi >= 1, 'the clamp must contain 1'),
});
const probability = z.number().min(0).max(1);

/**
 * A pattern head learned in the hospital (`npm run learn`, src/learning/README.md): a linear map of the
 * network's `features` output, so its class-activation map is w . F(y, x) + b and the logit is that
 * map's spatial mean, exactly like the shipped heads. The probability is Platt-calibrated on grouped
 * out-of-fold logits; `threshold` (on the pattern) is on that calibrated scale. The rest (annotators,
 * acceptance digest, estimates) is kept for the model card, not interpreted.
 */
const learnedHeadSchema = z
  .object({
    weights: z.array(z.number()).min(1),
    bias: z.number(),
    calibration: z.object({ method: z.literal('platt'), slope: z.number(), intercept: z.number() }),
  })
  .loose();

const patternSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]*$/),
    display: z.string().min(1),
    role: z.enum(PATTERN_ROLES),
    trained: z.boolean(),
    threshold: probability.nullable(),
    /** `texture`: a head in the graph (the `patterns` output); `learned`: computed from `features` (see learned). */
    head: z.string().optional(),
    learned: learnedHeadSchema.optional(),
    /** When this version first assessed the pattern (ISO date); the model card shows it. */
    assessedSince: z.string().optional(),
  })
  .refine((p) => !p.trained || p.threshold !== null, {
    error: 'a trained pattern needs a threshold',
    path: ['threshold'],
  })
  .refine((p) => p.learned === undefined || p.trained, {
    error: 'a pattern with a learned head is trained',
    path: ['trained'],
  });

const gateMetrics = z.record(z.string(), z.unknown()).optional();

/** Thresholds on the model's own gate outputs, chosen on out-of-fold predictions (training/README.md). */
const gateSchema = z
  .object({
    modality: z
      .object({ output: z.literal('dermoscopy'), threshold: probability, method: z.string().optional(), metrics: gateMetrics })
      .loose()
      .optional(),
    ood: z
      .object({ output: z.literal('ood'), threshold: z.number().positive(), method: z.string().optional(), metrics: gateMetrics })
      .loose()
      .optional(),
  })
  .loose();

/**
 * Maps the raw `bcc` output to a calibrated probability. Both forms are monotone, so an operating
 * point keeps its meaning when mapped through the same function.
 */
const calibrationSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('platt'), slope: z.number().positive(), intercept: z.number() }).loose(),
  z
    .object({
      method: z.literal('isotonic'),
      points: z
        .array(z.tuple([probability, probability]))
        .min(2)
        .refine((pts) => pts.every((p, i) => i === 0 || (p[0] > (pts[i - 1]?.[0] ?? 0) && p[1] >= (pts[i - 1]?.[1] ?? 0))), 'points must increase in x and not decrease in y'),
    })
    .loose(),
]);

const manifestSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    created: z.string().optional(),
    /** The .onnx file, relative to the manifest (a learned candidate names the installed network: its sha256 is checked). */
    file: z.string().regex(/\.onnx$/, 'a path to the .onnx file, relative to the manifest'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    opset: z.number().int().optional(),
    input: z.object({
      name: z.string().min(1),
      layout: z.literal('NCHW'),
      type: z.literal('float32'),
      size: z.number().int().min(16).max(2048),
      resize: z.enum(RESIZE_MODES),
      mean: rgb,
      std: rgb.refine((s) => s.every((v) => v > 0), 'std must be > 0'),
      colorConstancy: colorConstancySchema.optional(),
    }),
    outputs: z.object({
      bcc: z.object({ name: z.string().min(1) }),
      patterns: z.object({ name: z.string().min(1) }),
      cam: z.object({
        name: z.string().min(1),
        shape: z.tuple([z.literal('N'), z.number().int(), z.number().int().min(1), z.number().int().min(1)]),
        channels: z.array(z.string()),
      }),
      /** Probability that the input is a dermoscopic image (the modality gate's head). */
      dermoscopy: z.object({ name: z.string().min(1) }).optional(),
      /** Distance of the image's features from the training images' (the out-of-distribution gate). */
      ood: z.object({ name: z.string().min(1) }).optional(),
      /** The map the CAM 1x1 conv reads [N, C, h, w] (same h, w as cam): what learned heads take. */
      features: z
        .object({ name: z.string().min(1), shape: z.tuple([z.literal('N'), z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]) })
        .optional(),
    }),
    patterns: z.array(patternSchema).min(1),
    thresholds: z
      .object({ triage: probability, balanced: probability })
      .catchall(probability),
    modelCard: z
      .object({
        intendedUse: z.string().min(1),
        licence: z.string().min(1),
        limits: z.array(z.string()),
      })
      .loose(),
    /**
     * Present in a quantized model's manifest (training/quantize.py): how it was made and how it
     * compares with the fp32 model. Kept, not interpreted, so /model-card shows it.
     */
    quantization: z.record(z.string(), z.unknown()).optional(),
    gate: gateSchema.optional(),
    calibration: calibrationSchema.optional(),
    /**
     * How this version was learned in the hospital (`npm run learn`): base version, pattern, the
     * acceptance report's digest (sha256 of its canonical JSON) and decision. Change control checks
     * the digest when the version is registered.
     */
    learning: z
      .object({ from: z.string().min(1), pattern: z.string().min(1), acceptanceSha256: z.string().regex(/^[0-9a-f]{64}$/), decision: z.enum(['accepted', 'refused']) })
      .loose()
      .optional(),
    /** Validation frequency of BCC per calibrated-probability band, for natural-frequency risk statements (`npm run risk-bands`). */
    riskBands: riskBandsSchema.optional(),
    /** Leave-one-source-out figures of this model's recipe, with issue #21's targets (`npm run model-card-loso`). */
    loso: losoCardSchema.optional(),
    /** Test-time flips the graph averages over (documentation; the graph does it). */
    tta: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    const ids = m.patterns.map((p) => p.id);
    const expected = ['bcc', ...ids];
    if (m.outputs.cam.shape[1] !== expected.length) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'cam', 'shape', 1], message: `must be ${expected.length} (BCC + ${ids.length} patterns)` });
    }
    if (m.outputs.cam.channels.join(',') !== expected.join(',')) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'cam', 'channels'], message: `must be [${expected.join(', ')}] (BCC, then patterns in manifest order)` });
    }
    for (const key of ['modality', 'ood'] as const) {
      const g = m.gate?.[key];
      if (g && m.outputs[g.output] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['gate', key, 'output'], message: `the gate reads output "${g.output}", which outputs does not declare` });
      }
    }
    const feats = m.outputs.features;
    m.patterns.forEach((p, j) => {
      if (!p.learned) {
        return;
      }
      if (!feats) {
        ctx.addIssue({ code: 'custom', path: ['patterns', j, 'learned'], message: 'a learned head reads outputs.features, which the manifest does not declare' });
      } else if (p.learned.weights.length !== feats.shape[1]) {
        ctx.addIssue({ code: 'custom', path: ['patterns', j, 'learned', 'weights'], message: `has ${p.learned.weights.length} weights, outputs.features has ${feats.shape[1]} channels` });
      }
    });
    if (feats && (feats.shape[2] !== m.outputs.cam.shape[2] || feats.shape[3] !== m.outputs.cam.shape[3])) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'features', 'shape'], message: 'must have the cam map\'s height and width' });
    }
    if (new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: 'custom', path: ['patterns'], message: 'pattern ids must be unique' });
    }
  });

/** The model manifest: how to feed the ONNX graph and read it. See src/model/README.md. */
export type ModelManifest = Readonly<z.infer<typeof manifestSchema>>;
export type PatternSpec = ModelManifest['patterns'][number];
export type Calibration = NonNullable<ModelManifest['calibration']>;
export type ModelGate = NonNullable<ModelManifest['gate']>;
export type LearnedHead = NonNullable<PatternSpec['learned']>;

/** Validates a parsed manifest; throws an OperationOutcomeError naming the element at fault. */
export function parseManifest(json: unknown, source = 'manifest'): ModelManifest {
  return parseOrThrow(manifestSchema, json, source);
}

export async function loadManifest(path: string): Promise<ModelManifest> {
  return parseManifest(await readJsonFile(path, 'model manifest'), path);
}

/** Patterns the installed model can assess (trained on labelled data); the rest are "not assessed". */
export function assessablePatterns(m: ModelManifest): readonly PatternSpec[] {
  return m.patterns.filter((p) => p.trained);
}

const digests = new WeakMap<ModelManifest, string>();

/**
 * sha256 of the manifest's canonical JSON (the Device's and the model card's identifier): made once
 * per manifest object, which is never changed while it is served, instead of on every hook.
 */
export function manifestDigest(m: ModelManifest): string {
  let d = digests.get(m);
  if (d === undefined) {
    d = canonicalDigest(m);
    digests.set(m, d);
  }
  return d;
}
