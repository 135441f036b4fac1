/**
 * Turbo colormap (Anton Mikhailov, Google, 2019), via the published
 * polynomial approximation by Ruofei Du (Apache-2.0). Turbo is used instead
 * of jet because it is perceptually smoother and has no false bands that a
 * clinician could read as structure.
 */

export type Rgb = readonly [number, number, number];

// Degree-5 polynomial coefficients, c0..c5 per channel.
const RED = [0.13572138, 4.6153926, -42.66032258, 132.13108234, -152.94239396, 59.28637943] as const;
const GREEN = [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604] as const;
const BLUE = [0.1066733, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973] as const;

type Coefficients = readonly [number, number, number, number, number, number];

function toByte(c: Coefficients, x: number): number {
  const v = c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * c[5]))));
  // The polynomial overshoots [0, 1] slightly near the ends.
  return Math.round(Math.min(Math.max(v, 0), 1) * 255);
}

// Renders evaluate the colormap per pixel, so the polynomial is evaluated
// once per byte level instead; 256 levels is the PNG's own resolution anyway.
const LUT: readonly Rgb[] = Array.from({ length: 256 }, (_, i): Rgb => {
  const x = i / 255;
  return Object.freeze([toByte(RED, x), toByte(GREEN, x), toByte(BLUE, x)] as const);
});

/** Colour for t in [0, 1] (clamped; NaN counts as 0), as sRGB bytes. */
export function turbo(t: number): Rgb {
  const clamped = t > 0 ? (t < 1 ? t : 1) : 0;
  return LUT[Math.round(clamped * 255)]!;
}
