import { z } from 'zod';

/**
 * The manifest's `riskBands`: how often images whose calibrated BCC probability fell in each band
 * were BCC in validation (out-of-fold, cross-fitted calibration), and the base rate of the images
 * the operating points were set on. Written by `npm run risk-bands` from the out-of-fold
 * predictions (src/tools/cli/risk-bands.ts), never typed by hand; cards and reports turn it into
 * natural frequencies (src/rules/risk-statement.ts).
 */
const fraction = z.number().min(0).max(1);
const count = z.number().int().min(0);
const interval = z.tuple([fraction, fraction]);

const bandSchema = z
  .object({
    /** Calibrated probability range [lo, hi); the last band includes 1. */
    lo: fraction,
    hi: fraction,
    n: count.min(1),
    bcc: count,
    /** Wilson 95% interval of bcc / n. */
    ci95: interval,
  })
  .refine((b) => b.bcc <= b.n, 'bcc must be <= n')
  .refine((b) => b.lo < b.hi, 'lo must be < hi');

export const riskBandsSchema = z
  .object({
    /** Where the figures come from, in words (file, model version, which probability). */
    derivedFrom: z.string().min(1),
    /** Who the base rate describes, in words a clinician reads ("the development images"). */
    population: z.string().min(1),
    baseRate: z.object({ n: count.min(1), bcc: count, ci95: interval }),
    bands: z.array(bandSchema).min(1),
  })
  .loose()
  .superRefine((r, ctx) => {
    const first = r.bands[0];
    const last = r.bands[r.bands.length - 1];
    if (first?.lo !== 0 || last?.hi !== 1) {
      ctx.addIssue({ code: 'custom', path: ['bands'], message: 'bands must cover [0, 1]' });
    }
    r.bands.forEach((b, i) => {
      const prev = r.bands[i - 1];
      if (prev && prev.hi !== b.lo) {
        ctx.addIssue({ code: 'custom', path: ['bands', i, 'lo'], message: `must equal the previous band's hi (${prev.hi})` });
      }
    });
  });

export type RiskBands = Readonly<z.infer<typeof riskBandsSchema>>;
export type RiskBand = RiskBands['bands'][number];

/** The band a calibrated probability falls in: [lo, hi), the last one closed. */
export function findRiskBand(probability: number, riskBands: RiskBands): RiskBand {
  const bands = riskBands.bands;
  // The schema guarantees at least one band covering [0, 1].
  return bands.find((b) => probability >= b.lo && probability < b.hi) ?? bands[bands.length - 1]!;
}
