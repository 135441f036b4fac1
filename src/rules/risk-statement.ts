import type { RiskBands } from '../model/risk-bands.ts';
import { findRiskBand } from '../model/risk-bands.ts';

/**
 * A calibrated BCC probability told as a natural frequency ("about 24 in 100 lesions scored like
 * this were BCC in validation"), beside the base rate of the population the operating points were
 * set on, with the band's 95% interval where it is wide. Natural frequencies (Gigerenzer & Hoffrage
 * 1995) are read right far more often than probabilities; one denominator for the band and the
 * base rate keeps them comparable (the icon-array literature: Galesic, Garcia-Retamero & Gigerenzer
 * 2009). The figures come from the manifest's `riskBands` (validation data), never from the
 * probability itself: a calibrated 0.27 is a model's estimate, "26 of 107" is what happened.
 * See docs/risk-communication.md.
 */
export interface RiskStatement {
  /** 100, or 1,000 when the band's frequency is under 1 in 100. */
  readonly denominator: number;
  /** BCC per `denominator` lesions in the probability's band, rounded (0: fewer than 1). */
  readonly frequency: number;
  /** The band's Wilson 95% interval per `denominator`, rounded; only when it is wide. */
  readonly interval?: readonly [number, number];
  /** BCC per `denominator` in `population`. */
  readonly baseRate: number;
  /** "the development images". */
  readonly population: string;
  /** The validation counts behind `frequency`. */
  readonly band: { readonly lo: number; readonly hi: number; readonly n: number; readonly bcc: number };
  /** The full sentence, for the card detail, the report and the PDF. */
  readonly text: string;
  /** Fits the card summary: "24 in 100 scored like this were BCC (7 in 100 overall)". */
  readonly short: string;
}

/** An interval this wide (in absolute terms, or with an upper bound over twice the lower) is shown. */
const WIDE_ABSOLUTE = 0.05;

function count(fraction: number, denominator: number): number {
  return Math.round(fraction * denominator);
}

function per(n: number, denominator: number): string {
  return `${n === 0 ? 'fewer than 1' : String(n)} in ${denominator.toLocaleString('en-GB')}`;
}

function isWide([lo, hi]: readonly [number, number]): boolean {
  return hi - lo >= WIDE_ABSOLUTE || hi > 2 * lo;
}

export function describeRisk(probability: number, riskBands: RiskBands): RiskStatement {
  const b = findRiskBand(probability, riskBands);
  const fraction = b.bcc / b.n;
  const denominator = fraction < 0.01 ? 1000 : 100;
  const frequency = count(fraction, denominator);
  const base = riskBands.baseRate.bcc / riskBands.baseRate.n;
  const baseRate = count(base, denominator);
  const interval: readonly [number, number] | undefined = isWide(b.ci95) ? [count(b.ci95[0], denominator), count(b.ci95[1], denominator)] : undefined;
  const images = `${b.bcc} of ${b.n.toLocaleString('en-GB')} images`;
  const range = interval ? ` (95% interval ${interval[0]} to ${per(interval[1], denominator)}; ${images})` : ` (${images})`;
  const text =
    `About ${per(frequency, denominator)} lesions scored like this were BCC in validation${range}; ` +
    `in ${riskBands.population} as a whole, ${per(baseRate, denominator)} were BCC.`;
  return {
    denominator,
    frequency,
    ...(interval ? { interval } : {}),
    baseRate,
    population: riskBands.population,
    band: { lo: b.lo, hi: b.hi, n: b.n, bcc: b.bcc },
    text,
    short: `${per(frequency, denominator)} scored like this were BCC (${per(baseRate, denominator)} overall)`,
  };
}
