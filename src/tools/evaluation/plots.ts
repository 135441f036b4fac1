/**
 * ROC curve and reliability diagram as SVG text, rasterised to PNG with sharp (librsvg). SVG keeps
 * the drawing pure and testable; the PNG is what people open. A generic font family, because the
 * machine that renders may not have the font the author had.
 */
import sharp from 'sharp';
import type { Calibration } from './calibration.ts';
import type { RocPoint } from '../../common/stats/roc.ts';

export interface RocSeries {
  readonly label: string;
  readonly points: readonly RocPoint[];
  readonly auc: number;
}

export interface PlotOptions {
  /** Square side in pixels. */
  readonly size?: number;
  readonly title?: string;
}

const FONT = 'DejaVu Sans, sans-serif';
const COLOURS = ['#1f4e9c', '#c0392b', '#2e8b57', '#d68910', '#7d3c98', '#17a2b8'] as const;
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1] as const;

interface Frame {
  readonly size: number;
  readonly left: number;
  readonly top: number;
  readonly side: number;
  x(v: number): number;
  y(v: number): number;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatRate(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : 'n/a';
}

function makeFrame(size: number): Frame {
  // Margins scale with the picture so labels keep their place at any size.
  const left = Math.round(size * 0.12);
  const top = Math.round(size * 0.09);
  const side = size - left - Math.round(size * 0.04);
  const plotSide = Math.min(side, size - top - Math.round(size * 0.11));
  return {
    size,
    left,
    top,
    side: plotSide,
    x: (v) => left + v * plotSide,
    y: (v) => top + (1 - v) * plotSide,
  };
}

function text(x: number, y: number, body: string, size: number, extra = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${size.toFixed(1)}" ${extra}>${escapeXml(body)}</text>`;
}

/** Background, grid, unit axes with ticks, axis labels, title and the y = x diagonal. */
function drawAxes(f: Frame, title: string, xLabel: string, yLabel: string): string {
  const fs = f.size / 40;
  const parts = [`<rect width="${f.size}" height="${f.size}" fill="white"/>`];
  for (const t of TICKS) {
    parts.push(
      `<line x1="${f.x(t)}" y1="${f.y(0)}" x2="${f.x(t)}" y2="${f.y(1)}" stroke="#e5e5e5"/>`,
      `<line x1="${f.x(0)}" y1="${f.y(t)}" x2="${f.x(1)}" y2="${f.y(t)}" stroke="#e5e5e5"/>`,
      text(f.x(t), f.y(0) + fs * 1.4, t.toFixed(1), fs * 0.85, 'text-anchor="middle"'),
      text(f.x(0) - fs * 0.5, f.y(t) + fs * 0.3, t.toFixed(1), fs * 0.85, 'text-anchor="end"'),
    );
  }
  parts.push(
    `<rect x="${f.x(0)}" y="${f.y(1)}" width="${f.side}" height="${f.side}" fill="none" stroke="#333"/>`,
    `<line x1="${f.x(0)}" y1="${f.y(0)}" x2="${f.x(1)}" y2="${f.y(1)}" stroke="#999" stroke-dasharray="6 4"/>`,
    text(f.x(0.5), f.y(0) + fs * 2.9, xLabel, fs, 'text-anchor="middle"'),
    text(0, 0, yLabel, fs, `text-anchor="middle" transform="translate(${(f.left - fs * 3).toFixed(1)} ${f.y(0.5).toFixed(1)}) rotate(-90)"`),
    // Long titles shrink to fit: bold DejaVu Sans averages about 0.65 em per character.
    text(f.size / 2, f.top - fs * 1.4, title, Math.min(fs * 1.15, (f.size * 0.94) / (0.65 * title.length)), 'text-anchor="middle" font-weight="bold"'),
  );
  return parts.join('\n');
}

/** Where the legend sits: ROC curves leave the lower right empty, well-calibrated points the upper left. */
type Corner = 'lower-right' | 'upper-left';

function drawLegend(f: Frame, corner: Corner, entries: readonly { label: string; colour: string; dashed?: boolean }[]): string {
  const fs = f.size / 44;
  const x = corner === 'lower-right' ? f.x(0.42) : f.x(0.03);
  return entries
    .map((e, i) => {
      const y = corner === 'lower-right' ? f.y(0.04) - (entries.length - 1 - i) * fs * 1.6 : f.y(0.97) + fs + i * fs * 1.6;
      const dash = e.dashed ? ' stroke-dasharray="6 4"' : '';
      return `<line x1="${x}" y1="${(y - fs * 0.35).toFixed(1)}" x2="${x + fs * 2}" y2="${(y - fs * 0.35).toFixed(1)}" stroke="${e.colour}" stroke-width="3"${dash}/>${text(x + fs * 2.6, y, e.label, fs)}`;
    })
    .join('\n');
}

function polyline(f: Frame, xy: readonly (readonly [number, number])[], colour: string): string {
  const pts = xy.map(([a, b]) => `${f.x(a).toFixed(1)},${f.y(b).toFixed(1)}`).join(' ');
  return `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2.5" stroke-linejoin="round"/>`;
}

/** ROC curves, one per series (the first is the headline: its AUC goes in the title). */
export function drawRocSvg(series: readonly RocSeries[], opts: PlotOptions = {}): string {
  const f = makeFrame(opts.size ?? 640);
  const head = series[0];
  const title = `${opts.title ?? 'ROC'}${head ? ` (AUC ${formatRate(head.auc)})` : ''}`;
  const curves = series.map((s, i) => polyline(f, s.points.map((p) => [p.fpr, p.tpr] as const), COLOURS[i % COLOURS.length]!));
  const legend = drawLegend(f, 'lower-right', [
    ...series.map((s, i) => ({ label: `${s.label}: AUC ${formatRate(s.auc)}`, colour: COLOURS[i % COLOURS.length]! })),
    { label: 'chance', colour: '#999', dashed: true },
  ]);
  return svgDocument(f, [drawAxes(f, title, 'False positive rate (1 - specificity)', 'True positive rate (sensitivity)'), ...curves, legend]);
}

/**
 * Reliability diagram: observed BCC rate against mean predicted probability per bin, over grey
 * bars for each bin's share of images (a well-placed point in an empty bin means little).
 */
export function drawReliabilitySvg(calibration: Calibration, opts: PlotOptions = {}): string {
  const f = makeFrame(opts.size ?? 640);
  const title = `${opts.title ?? 'Reliability'} (ECE ${formatRate(calibration.ece)}, Brier ${formatRate(calibration.brier)})`;
  const maxCount = Math.max(1, ...calibration.bins.map((b) => b.count));
  const bars = calibration.bins.map((b) => {
    const h = (b.count / maxCount) * 0.25;
    return `<rect x="${f.x(b.lower).toFixed(1)}" y="${f.y(h).toFixed(1)}" width="${(f.x(b.upper) - f.x(b.lower) - 1).toFixed(1)}" height="${(f.y(0) - f.y(h)).toFixed(1)}" fill="#cfcfcf" fill-opacity="0.7"/>`;
  });
  const filled = calibration.bins.filter((b) => b.count > 0);
  const curve = polyline(f, filled.map((b) => [b.meanPredicted, b.observedRate] as const), COLOURS[0]);
  const dots = filled.map((b) => `<circle cx="${f.x(b.meanPredicted).toFixed(1)}" cy="${f.y(b.observedRate).toFixed(1)}" r="${(f.size / 140).toFixed(1)}" fill="${COLOURS[0]}"/>`);
  const tallest = calibration.n > 0 ? (100 * maxCount) / calibration.n : 0;
  const legend = drawLegend(f, 'upper-left', [
    { label: `observed rate per bin (n = ${calibration.n})`, colour: COLOURS[0] },
    { label: `images per bin (tallest bar: ${tallest.toFixed(0)}% of images)`, colour: '#cfcfcf' },
    { label: 'perfect calibration', colour: '#999', dashed: true },
  ]);
  return svgDocument(f, [drawAxes(f, title, 'Mean predicted BCC probability', 'Observed BCC rate'), ...bars, curve, ...dots, legend]);
}

function svgDocument(f: Frame, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.size}" height="${f.size}" viewBox="0 0 ${f.size} ${f.size}">\n${parts.join('\n')}\n</svg>\n`;
}

export async function rasterisePng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
