/**
 * Viridis colormap (van der Walt & Smith, matplotlib 2.0, 2015; CC0), via Matt Zucker's published
 * degree-6 polynomial fit (CC0). Viridis replaced turbo (issue #20): it is perceptually uniform
 * (equal steps in value look like equal steps in colour, and its lightness rises monotonically, so
 * the order survives greyscale printing) and it stays ordered for deuteranopia, protanopia and
 * tritanopia, which turbo's red-green middle does not. The viewer's legend
 * (src/sandbox/public/styles.css, `.legend-scale__bar`) draws the same colours.
 */

export type Rgb = readonly [number, number, number];

// Polynomial coefficients c0..c6, per channel.
const RED = [0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486, 6.228269936347081, 4.776384997670288, -5.435455855934631] as const;
const GREEN = [0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585, 14.17993336680509, -13.74514537774601, 4.645852612178535] as const;
const BLUE = [0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987, 56.69055260068105, -65.35303263337234, 26.3124352495832] as const;

type Coefficients = readonly [number, number, number, number, number, number, number];

function toByte(c: Coefficients, x: number): number {
  const v = c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * (c[5] + x * c[6])))));
  // The fit overshoots [0, 1] slightly near the ends.
  return Math.round(Math.min(Math.max(v, 0), 1) * 255);
}

// Renders evaluate the colormap per palette level, so the polynomial is evaluated once per byte
// level; 256 levels is the PNG's own resolution anyway.
const LUT: readonly Rgb[] = Array.from({ length: 256 }, (_, i): Rgb => {
  const x = i / 255;
  return Object.freeze([toByte(RED, x), toByte(GREEN, x), toByte(BLUE, x)] as const);
});

/** Colour for t in [0, 1] (clamped; NaN counts as 0), as sRGB bytes. */
export function viridis(t: number): Rgb {
  const clamped = t > 0 ? (t < 1 ? t : 1) : 0;
  return LUT[Math.round(clamped * 255)]!;
}
