/**
 * Pure arithmetic for `npm run evaluate:gate`: false rejections of the originals, catch rates of
 * degraded copies, and limits suggested from a tuning half. The CLI does the I/O.
 */
import type { Proportion } from '../../common/stats/confidence.ts';
import { wilson } from '../../common/stats/confidence.ts';
import type { GateCheck, GateConfig } from '../../gate/gate-config.ts';
import type { QualityReasonCode } from '../../gate/gate-reasons.ts';
import type { LesionPosition, QualityMeasures } from '../../gate/quality-measures.ts';
import { positionOfCells, measureValue } from '../../gate/quality-measures.ts';
import { judgeQuality } from '../../gate/quality-gate.ts';

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
 * The tightest limit that fails at most `maxShare` of all `originals` on this check and at most
 * `maxShareInSource` of each source's (an order statistic of their measure): the false-rejection
 * budget is spent, not exceeded, and no source (dermatoscope, export) carries it alone.
 */
export function suggestLimit(originals: readonly MeasuredImage[], check: Pick<GateCheck, 'measure' | 'direction'>, maxShare: number, maxShareInSource?: number): number | null {
  const limitFor = (images: readonly MeasuredImage[], share: number): number | null => {
    const values = images.map((i) => measureValue(i.measures, check.measure)).filter((v): v is number => v !== null);
    if (!values.length) {
      return null;
    }
    values.sort((x, y) => x - y);
    const allowed = Math.floor(share * values.length + 1e-9);
    // `min`: at most `allowed` values below the limit; `max`: at most `allowed` above it.
    return check.direction === 'min' ? values[allowed]! : values[values.length - 1 - allowed]!;
  };
  const sources = maxShareInSource === undefined ? [] : [...new Set(originals.map((i) => i.source))];
  const limits = [limitFor(originals, maxShare), ...sources.map((s) => limitFor(originals.filter((i) => i.source === s), maxShareInSource ?? 0))].filter((v): v is number => v !== null);
  if (!limits.length) {
    return null;
  }
  return check.direction === 'min' ? Math.min(...limits) : Math.max(...limits);
}

/** Position of a lesion outline given as a 0/1 grid (grid x grid), measured as findLesion measures. */
export function positionOfMask(cells: Uint8Array, grid: number): LesionPosition | null {
  return positionOfCells((i) => cells[i] === 1, grid);
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) {
    return Number.NaN;
  }
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Outlines this far off centre, or covering this much of the border, count as truly off centre / cut off. */
export const OUTLINE_OFF_CENTRE = 0.5;
export const OUTLINE_CUT_OFF = 0.25;

/**
 * How far the lesion finder can be trusted: its positions against the lesion outlines, and how
 * often each lesion warning fires when the outline says it should and when it should not.
 */
export function lesionAgreement(images: readonly { readonly found: LesionPosition | null; readonly truth: LesionPosition }[], config: GateConfig): {
  readonly n: number;
  readonly found: Proportion;
  readonly offsetCorrelation: number;
  readonly borderShareCorrelation: number;
  readonly areaCorrelation: number;
  readonly offCentre: { readonly truthLimit: number; readonly warnedWhenTrue: Proportion; readonly warnedWhenFalse: Proportion };
  readonly cutOff: { readonly truthLimit: number; readonly warnedWhenTrue: Proportion; readonly warnedWhenFalse: Proportion };
} | null {
  if (!images.length) {
    return null;
  }
  const both = images.flatMap((i) => (i.found ? [{ found: i.found, truth: i.truth }] : []));
  const limitOf = (code: QualityReasonCode): number => config.checks.find((c) => c.code === code)?.limit ?? Number.POSITIVE_INFINITY;
  const rates = (truthOf: (p: LesionPosition) => number, truthLimit: number, code: QualityReasonCode): { truthLimit: number; warnedWhenTrue: Proportion; warnedWhenFalse: Proportion } => {
    const limit = limitOf(code);
    const warned = (i: { found: LesionPosition | null }): boolean => i.found !== null && truthOf(i.found) > limit;
    const pos = images.filter((i) => truthOf(i.truth) > truthLimit);
    const neg = images.filter((i) => truthOf(i.truth) <= truthLimit);
    return { truthLimit, warnedWhenTrue: wilson(pos.filter(warned).length, pos.length), warnedWhenFalse: wilson(neg.filter(warned).length, neg.length) };
  };
  return {
    n: images.length,
    found: wilson(both.length, images.length),
    offsetCorrelation: pearson(both.map((b) => b.found.offset), both.map((b) => b.truth.offset)),
    borderShareCorrelation: pearson(both.map((b) => b.found.borderShare), both.map((b) => b.truth.borderShare)),
    areaCorrelation: pearson(both.map((b) => b.found.area), both.map((b) => b.truth.area)),
    offCentre: rates((p) => p.offset, OUTLINE_OFF_CENTRE, 'lesion-off-centre'),
    cutOff: rates((p) => p.borderShare, OUTLINE_CUT_OFF, 'lesion-cut-off'),
  };
}
