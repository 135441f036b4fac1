/**
 * The evaluation as a compact plain-text table for the terminal; the JSON file holds everything.
 */
import type { AucEstimate, Proportion } from '../../common/stats/confidence.ts';
import type { EvaluationMetrics, SkippedImage } from './report.ts';

export interface TableInput {
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string };
  readonly data: { readonly path: string };
  readonly counts: { readonly rows: number; readonly analysed: number; readonly unreadable: number };
  readonly unreadable: readonly SkippedImage[];
  readonly metrics: EvaluationMetrics;
}

/** How many unreadable images are named before "... and N more". */
const LISTED_UNREADABLE = 10;

function num(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

function interval(v: number, ci: readonly [number, number]): string {
  return `${num(v)} (${num(ci[0])}-${num(ci[1])})`;
}

function proportion(p: Proportion): string {
  return `${interval(p.value, p.ci95)} ${p.k}/${p.n}`;
}

function auc(a: AucEstimate): string {
  return interval(a.value, a.ci95);
}

/** Left-aligned columns, widths from the widest cell. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, k) => {
      widths[k] = Math.max(widths[k] ?? 0, c.length);
    });
  }
  return rows.map((r) => r.map((c, k) => (k === r.length - 1 ? c : c.padEnd(widths[k] ?? 0))).join('  ').trimEnd());
}

export function formatEvaluationTable(input: TableInput): string {
  const { metrics: m, counts } = input;
  const out: string[] = [
    `Model ${input.model.name} ${input.model.version} (sha256 ${input.model.sha256.slice(0, 12)}...) on ${input.data.path}`,
    `Images: ${counts.rows} listed, ${counts.analysed} analysed, ${counts.unreadable} unreadable`,
    '',
    'BCC',
    ...columns([
      ['subset', 'n', 'BCC', 'AUC (95% CI, lesion bootstrap)', 'ECE', 'ECE raw', 'Brier'],
      ...Object.entries(m.bcc).map(([name, b]) => [
        name,
        String(b.auc.n),
        String(b.auc.positives),
        auc(b.auc),
        num(b.calibration.ece),
        num(b.calibrationRaw.ece),
        num(b.calibration.brier),
      ]),
    ]),
    '',
    'BCC operating points (positive when probability >= t; 95% Wilson CI; k/n)',
    ...columns([
      ['subset', 'point', 't', 'sensitivity', 'specificity', 'accuracy'],
      ...Object.entries(m.bcc).flatMap(([name, b]) =>
        Object.entries(b.thresholds).map(([point, op]) => [name, point, num(op.threshold, 4), proportion(op.sensitivity), proportion(op.specificity), proportion(op.accuracy)]),
      ),
    ]),
    '',
    'Patterns (annotated rows only)',
    ...columns([
      ['pattern', 'n', 'present', 'AUC (95% CI)', 't', 'sensitivity', 'specificity', 'accuracy'],
      ...Object.entries(m.patterns).map(([id, p]) => [
        id,
        String(p.auc.n),
        String(p.auc.positives),
        auc(p.auc),
        num(p.threshold, 4),
        proportion(p.sensitivity),
        proportion(p.specificity),
        proportion(p.accuracy),
      ]),
    ]),
    '',
    `Consistency of the explanations (all analysed images; BCC called at ${m.consistency.operatingPoint} t = ${num(m.consistency.threshold, 4)})`,
    ...columns([
      ['called BCC, with a positive pattern present', proportion(m.consistency.predictedBccWithPositivePattern)],
      ['called non-BCC, with pigment network present', proportion(m.consistency.predictedNonBccWithPigmentNetwork)],
      ['pigment network present, called non-BCC', proportion(m.consistency.pigmentNetworkPredictedNonBcc)],
    ]),
    '',
  ];
  const h = m.heatmap.bccWithMask;
  out.push(
    `Heatmap localisation (BCC images with a lesion mask; min-max normalised BCC map): n ${h.n}, mean inside ${num(h.meanInside)}, ` +
      `outside ${num(h.meanOutside)}, ratio ${num(h.ratio)}, median per-image ratio ${num(h.medianPerImageRatio)}` +
      (h.skipped.length ? `, ${h.skipped.length} not measurable` : ''),
  );
  if (input.unreadable.length) {
    out.push('', `Unreadable images (${input.unreadable.length}):`);
    for (const u of input.unreadable.slice(0, LISTED_UNREADABLE)) {
      out.push(`  ${u.image}: ${u.reason}`);
    }
    if (input.unreadable.length > LISTED_UNREADABLE) {
      out.push(`  ... and ${input.unreadable.length - LISTED_UNREADABLE} more (see the JSON)`);
    }
  }
  return `${out.join('\n')}\n`;
}
