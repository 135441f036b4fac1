import { readJsonFile } from '../common/read-json-file.ts';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation-outcome.ts';
import { GATE_REASONS, MODEL_REASONS, QUALITY_REASONS } from './gate-reasons.ts';
import type { GateReasonCode } from './gate-reasons.ts';
import { MEASURE_KEYS } from './quality-measures.ts';

/**
 * What a failed check does: `reject` keeps the image from being scored, `warn` scores it with a
 * note, `off` only measures it (evaluate:gate still reports it): for a check the data showed to be
 * unreliable even as a warning.
 */
export const GATE_ACTIONS = ['reject', 'warn', 'off'] as const;
export type GateAction = (typeof GATE_ACTIONS)[number];

/** `min`: the measure must be >= limit; `max`: <= limit. */
export const LIMIT_DIRECTIONS = ['min', 'max'] as const;

/** How {measured} and {limit} are written in a text. */
export const NUMBER_FORMATS = ['integer', 'decimal', 'percent'] as const;
export type NumberFormat = (typeof NUMBER_FORMATS)[number];

const share = z.number().min(0).max(1);
const level = z.number().min(0).max(255);
const text = z.string().min(1);

const checkSchema = z.object({
  code: z.enum(QUALITY_REASONS),
  measure: z.enum(MEASURE_KEYS),
  direction: z.enum(LIMIT_DIRECTIONS),
  limit: z.number(),
  action: z.enum(GATE_ACTIONS),
  format: z.enum(NUMBER_FORMATS),
  /** Clinician-facing; {measured} and {limit} are filled in. */
  text,
  /** Why this limit and action (for maintainers). */
  why: z.string().optional(),
});

const gateSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    description: z.string().optional(),
    measure: z.object({
      sharpnessMargin: z.number().min(0).max(0.45),
      highlightLevel: level,
      shadowLevel: level,
      brightPercentile: share,
      lesionGrid: z.number().int().min(4).max(224),
      lesionMinContrast: level,
    }),
    checks: z.array(checkSchema),
    /**
     * What the model-based checks do (their thresholds are the model manifest's `gate`): `reject`
     * withholds the score; `warn` scores the image and says the gate would have refused it.
     */
    modelChecks: z.record(z.enum(MODEL_REASONS), z.enum(GATE_ACTIONS)),
    /** Texts of the reasons decided elsewhere (the model-based modality and out-of-distribution checks). */
    texts: z.partialRecord(z.enum(GATE_REASONS), text),
    /** The measured evaluation (npm run evaluate:gate): kept, not interpreted. */
    metrics: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((g, ctx) => {
    const codes = g.checks.map((c) => c.code);
    codes.forEach((c, i) => {
      if (codes.indexOf(c) !== i) {
        ctx.addIssue({ code: 'custom', path: ['checks', i, 'code'], message: `check ${c} is declared twice` });
      }
      if (g.texts[c] !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['texts', c], message: `${c} has a check; its text belongs there` });
      }
    });
    for (const c of GATE_REASONS) {
      if (!(codes as readonly string[]).includes(c) && g.texts[c] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['texts', c], message: `every reason needs a text: ${c} has neither a check nor a text` });
      }
    }
    g.checks.forEach((c, i) => {
      if ((c.format === 'percent' || c.measure.endsWith('Share')) && (c.limit < 0 || c.limit > 1)) {
        ctx.addIssue({ code: 'custom', path: ['checks', i, 'limit'], message: `a share must be between 0 and 1, got ${c.limit}` });
      }
    });
  });

/** models/image-gate.json: how to measure, the checks with their limits, actions and texts. */
export type GateConfig = Readonly<z.infer<typeof gateSchema>>;
export type GateCheck = GateConfig['checks'][number];

/**
 * The same gate with the model-based checks set to `action`. The sandbox and the hook tests use
 * `warn`: their synthetic drawings are (rightly) refused by the real model as not dermoscopic or
 * out of distribution, and they exist to show and test the rest of the flow.
 */
export function withModelChecks(config: GateConfig, action: GateAction): GateConfig {
  return { ...config, modelChecks: Object.fromEntries(MODEL_REASONS.map((c) => [c, action])) as GateConfig['modelChecks'] };
}

/** Validates a parsed gate file; throws an OperationOutcomeError naming the element at fault. */
export function parseGateConfig(json: unknown, source = 'image-gate'): GateConfig {
  return parseOrThrow(gateSchema, json, source);
}

export async function loadGateConfig(path: string): Promise<GateConfig> {
  return parseGateConfig(await readJsonFile(path, 'image gate file'), path);
}

export function formatNumber(v: number, format: NumberFormat): string {
  switch (format) {
    case 'integer':
      return String(Math.round(v));
    case 'decimal':
      return v.toFixed(2);
    case 'percent': {
      const pct = v * 100;
      return `${pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
    }
  }
}

/** A text with {measured} and {limit} filled in. */
export function fillText(template: string, measured: string, limit: string): string {
  return template.replaceAll('{measured}', measured).replaceAll('{limit}', limit);
}

/**
 * The clinician-facing text of any reason, for the model-based checks too (their numbers are
 * written as decimals unless a check in the file says otherwise).
 */
export function reasonText(config: GateConfig, code: GateReasonCode, measured: number, limit: number): string {
  const check = config.checks.find((c) => c.code === code);
  const format: NumberFormat = check?.format ?? 'decimal';
  const template = check?.text ?? config.texts[code] ?? code;
  return fillText(template, formatNumber(measured, format), formatNumber(limit, format));
}
