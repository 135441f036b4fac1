/**
 * Pure arithmetic for `npm run evaluate:gate`: false rejections of the originals, catch rates of
 * degraded copies, and limits suggested from a tuning half. The CLI does the I/O.
 */
import type { Proportion } from '../evaluation/confidence.ts';
import { wilson } from '../evaluation/confidence.ts';
import type { GateCheck, GateConfig } from './gate-config.ts';
import type { QualityReasonCode } from './gate-reasons.ts';
import type { QualityMeasures } from './quality-measures.ts';
import { measureValue } from './quality-measures.ts';
import { judgeQuality } from './quality-gate.ts';

/** One image under one condition (original or a degradation). */
export interface MeasuredImage {
  readonly image: string;
  readonly group: string;
  readonly source: string;
  readonly measures: QualityMeasures;
}

/** Which half of the lesion groups: tuning (`a`) or held out (`b`); stable for a seed. */
export function splitHalf(group: string, seed: number): 'a' | 'b' {
  // FNV-1a over the group id, mixed with the seed.
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < group.length; i++) {
    h ^= group.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h & 1) === 0 ? 'a' : 'b';
}

function fails(check: GateCheck, m: QualityMeasures, limit = check.limit): boolean {
  const v = measureValue(m, check.measure);
  if (v === null) {
    return false;
  }
  return check.direction === 'min' ? v < limit : v > limit;
}

export interface RejectionRates {
  /** Any `reject` check failed. */
  readonly overall: Proportion;
  /** Per check (reject and warn), the share failing it. */
  readonly byCheck: Readonly<Partial<Record<QualityReasonCode, Proportion>>>;
}

export function rejectionRates(images: readonly MeasuredImage[], config: GateConfig): RejectionRates {
  const n = images.length;
  const overall = images.filter((i) => !judgeQuality(i.measures, config).accepted).length;
  const byCheck: Partial<Record<QualityReasonCode, Proportion>> = {};
  for (const c of config.checks) {
    byCheck[c.code] = wilson(images.filter((i) => fails(c, i.measures)).length, n);
  }
  return { overall: wilson(overall, n), byCheck };
}

/** Share of images rejected (by any reject check) and by the named check alone. */
export function catchRate(images: readonly MeasuredImage[], config: GateConfig, code: QualityReasonCode): { readonly anyReason: Proportion; readonly thisReason: Proportion } {
  const check = config.checks.find((c) => c.code === code);
  const n = images.length;
  return {
    anyReason: wilson(images.filter((i) => !judgeQuality(i.measures, config).accepted).length, n),
    thisReason: wilson(check ? images.filter((i) => fails(check, i.measures)).length : 0, n),
  };
}

/**
 * The tightest limit that still fails at most `maxShare` of `originals` on this
 * check (an order statistic of their measure), so the false-rejection budget is spent, not exceeded.
 */
export function suggestLimit(originals: readonly MeasuredImage[], check: Pick<GateCheck, 'measure' | 'direction'>, maxShare: number): number | null {
  const values = originals.map((i) => measureValue(i.measures, check.measure)).filter((v): v is number => v !== null);
  if (!values.length) {
    return null;
  }
  values.sort((x, y) => x - y);
  const allowed = Math.floor(maxShare * values.length);
  // `min`: at most `allowed` values below the limit; `max`: at most `allowed` above it.
  return check.direction === 'min' ? (values[allowed] ?? null) : (values[values.length - 1 - allowed] ?? null);
}
