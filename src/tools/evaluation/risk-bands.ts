import { wilson } from '../../common/stats/confidence.ts';
import type { RiskBand, RiskBands } from '../../model/risk-bands.ts';

/** One validation image: its calibrated BCC probability (cross-fitted, out-of-fold) and its label. */
export interface ScoredImage {
  readonly probability: number;
  readonly bcc: boolean;
}

export interface RiskBandOptions {
  /** Inner band edges on the calibrated scale (0 and 1 are added). */
  readonly edges: readonly number[];
  /** Edges that stay, however few images a band holds: the operating points the triage rules use. */
  readonly pinned?: readonly number[];
  /** A band with fewer images merges with a neighbour (losing an edge that is not pinned). */
  readonly minImages: number;
  readonly derivedFrom: string;
  readonly population: string;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function band(lo: number, hi: number, scored: readonly ScoredImage[]): RiskBand {
  const inBand = scored.filter((s) => s.probability >= lo && (hi === 1 ? s.probability <= 1 : s.probability < hi));
  const bcc = inBand.filter((s) => s.bcc).length;
  const p = wilson(bcc, inBand.length);
  return { lo, hi, n: inBand.length, bcc, ci95: [round(p.ci95[0]), round(p.ci95[1])] };
}

/**
 * The manifest's `riskBands`: frequency of BCC among validation images per calibrated-probability
 * band, with Wilson 95% intervals, and the base rate of the whole set. Edges are rounded to 6
 * decimals, intervals to 4; small bands merge so that every frequency rests on `minImages` images, unless both
 * its edges are pinned.
 */
export function computeRiskBands(scored: readonly ScoredImage[], opts: RiskBandOptions): RiskBands {
  if (scored.length < opts.minImages) {
    throw new RangeError(`risk bands need at least ${opts.minImages} images, got ${scored.length}`);
  }
  const pinned = new Set([0, 1, ...(opts.pinned ?? []).map((e) => round(e, 6))]);
  let edges = [...new Set([0, ...[...opts.edges, ...(opts.pinned ?? [])].map((e) => round(e, 6)).filter((e) => e > 0 && e < 1), 1])].sort((a, b) => a - b);
  for (;;) {
    const counts = edges.slice(1).map((hi, i) => band(edges[i]!, hi, scored).n);
    // A small band merges with a neighbour by losing an edge that is not pinned: its lower one, else its upper one.
    const drop = counts.flatMap((n, i) => (n >= opts.minImages ? [] : [edges[i]!, edges[i + 1]!].filter((e) => !pinned.has(e)).slice(0, 1)))[0];
    if (drop === undefined) {
      break;
    }
    edges = edges.filter((e) => e !== drop);
  }
  const bcc = scored.filter((s) => s.bcc).length;
  const base = wilson(bcc, scored.length);
  return {
    derivedFrom: opts.derivedFrom,
    population: opts.population,
    baseRate: { n: scored.length, bcc, ci95: [round(base.ci95[0]), round(base.ci95[1])] },
    bands: edges.slice(1).map((hi, i) => band(edges[i]!, hi, scored)),
  };
}
