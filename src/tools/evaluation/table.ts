/**
 * The evaluation as a compact plain-text table for the terminal; the JSON file holds everything.
 */
import type { AucEstimate, Proportion } from '../../common/stats/confidence.ts';
import type { EvaluationMetrics, SkippedImage } from './report.ts';
import type { EstimatesNote } from './estimates.ts';
import type { GateTally, SourceSummary } from './per-source.ts';

export interface TableInput {
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string };
  readonly data: { readonly path: string };
  readonly counts: { readonly rows: number; readonly analysed: number; readonly unreadable: number };
  readonly unreadable: readonly SkippedImage[];
  readonly metrics: EvaluationMetrics;
  /** What this run's figures are worth (in-sample or not) and the honest estimates from the manifest. */
  readonly estimates?: EstimatesNote;
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

function tally(t: GateTally | null): string {
  return t ? proportion(t.rate) : '-';
}

function refusals(t: GateTally | null): string {
  const e = t ? Object.entries(t.refusals) : [];
  return e.length ? e.map(([code, n]) => `${code} ${n}`).join(', ') : '-';
}

/** Issue #21's table: one row per source (and all), then patterns and consistency per source. */
function perSourceLines(perSource: Readonly<Record<string, SourceSummary>>, estimates: EstimatesNote | undefined): string[] {
  const rows = Object.entries(perSource);
  const patternIds = [...new Set(rows.flatMap(([, s]) => Object.keys(s.patterns)))];
  return [
    `Per source (issue #21)${estimates?.thisRun === 'in-sample' ? ': IN-SAMPLE (the installed model was trained on these images; honest estimates below)' : ''}`,
    ...columns([
      ['source', 'images', 'BCC', 'gate: dermoscopic accepted', 'gate: clinical photos refused', 'BCC AUC (95% CI)', 'triage sensitivity', 'triage specificity'],
      ...rows.map(([name, s]) => [
        name,
        String(s.images),
        String(s.bcc),
        tally(s.gate.dermoscopicAccepted),
        tally(s.gate.clinicalRefused),
        s.bccAuc && s.bccAuc.n > 0 ? auc(s.bccAuc) : '-',
        s.triage ? proportion(s.triage.sensitivity) : '-',
        s.triage ? proportion(s.triage.specificity) : '-',
      ]),
    ]),
    'Gate refusals by check (images)',
    ...columns([['source', 'dermoscopic images refused', 'clinical photos refused'], ...rows.map(([name, s]) => [name, refusals(s.gate.dermoscopicAccepted), refusals(s.gate.clinicalRefused)])]),
    ...(patternIds.length
      ? [
          'Pattern detection per source (annotated rows; sensitivity at the shipped threshold, and at the lowest threshold with specificity >= 0.9)',
          ...columns([
            ['source', 'pattern', 'n', 'present', 'sensitivity at t', 'specificity at t', 'sensitivity at spec >= 0.9', 'specificity there', 't there'],
            ...rows.flatMap(([name, s]) =>
              Object.entries(s.patterns).map(([id, p]) => [
                name,
                id,
                String(p.n),
                String(p.present),
                proportion(p.shipped.sensitivity),
                proportion(p.shipped.specificity),
                p.atMinSpecificity ? proportion(p.atMinSpecificity.sensitivity) : '-',
                p.atMinSpecificity ? proportion(p.atMinSpecificity.specificity) : '-',
                p.atMinSpecificity ? num(p.atMinSpecificity.threshold, 4) : '-',
              ]),
            ),
          ]),
        ]
      : []),
    'Consistency per source (BCC called at the balanced point)',
    ...columns([
      ['source', 'called BCC, with a BCC pattern present', 'pigment network present, called non-BCC'],
      ...rows.map(([name, s]) => [name, proportion(s.consistency.predictedBccWithPositivePattern), proportion(s.consistency.pigmentNetworkPredictedNonBcc)]),
    ]),
  ];
}

function estimateLines(estimates: EstimatesNote): string[] {
  const cell = (v: number | undefined): string => (v === undefined ? '-' : num(v));
  return [
    estimates.text,
    ...columns([
      ['estimate', 'source', 'BCC AUC', 'triage sens', 'triage spec', 'gate: dermoscopic accepted', 'gate: clinical refused', 'pigment network sens at spec 0.9'],
      ...estimates.honest.flatMap((h) =>
        Object.entries(h.bySource).map(([source, e]) => [
          h.kind,
          source,
          cell(e.bccAuc),
          cell(e.triageSensitivity),
          cell(e.triageSpecificity),
          cell(e.gateDermoscopicAccepted),
          cell(e.gateClinicalRefused),
          cell(e.pigmentNetworkSensitivityAtSpecificity90),
        ]),
      ),
    ]),
    ...estimates.honest.map((h) => `  ${h.kind}: ${h.from}`),
  ];
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
    ...(input.estimates ? [input.estimates.text] : []),
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
  out.push('', ...perSourceLines(m.perSource, input.estimates));
  if (input.estimates?.honest.length) {
    out.push('', ...estimateLines(input.estimates));
  }
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
