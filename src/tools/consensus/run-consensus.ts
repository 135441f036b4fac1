/**
 * The whole consensus step on text in, text out: sheet -> per-label EM -> labels.csv, posteriors
 * and report. The CLI (src/tools/cli/consensus.ts) only reads and writes files.
 */
import type { AnnotationSheet } from './annotations.ts';
import { parseAnnotations } from './annotations.ts';
import { formatConsensusLabels, formatPosteriors } from './consensus-labels.ts';
import { buildConsensusReport } from './consensus-report.ts';
import type { DawidSkeneOptions } from './dawid-skene.ts';
import type { LabelConsensus } from './label-consensus.ts';
import { buildLabelConsensus } from './label-consensus.ts';

export interface ConsensusRequest {
  readonly annotations: { readonly text: string; readonly source: string };
  /** Known labels in output column order: bcc, then the manifest's pattern ids. */
  readonly labels: readonly string[];
  readonly soft?: boolean;
  readonly base?: { readonly text: string; readonly source: string } | undefined;
  readonly options?: DawidSkeneOptions;
  /** ISO time for the report; a parameter so tests can pin it. */
  readonly generated?: string;
}

export interface ConsensusResult {
  readonly sheet: AnnotationSheet;
  readonly results: readonly LabelConsensus[];
  readonly labelsCsv: string;
  readonly posteriorsCsv: string;
  readonly report: Record<string, unknown>;
}

export function runConsensus(req: ConsensusRequest): ConsensusResult {
  const sheet = parseAnnotations(req.annotations.text, req.labels, req.annotations.source);
  const options = req.options ?? {};
  const results = req.labels.map((label) =>
    buildLabelConsensus(
      label,
      sheet.votes.filter((v) => v.label === label).map((v) => ({ item: v.image, rater: v.annotator, value: v.value })),
      options,
      sheet.annotators,
    ),
  );
  const soft = req.soft ?? false;
  const labels = formatConsensusLabels({ images: sheet.images, labels: req.labels, results, soft, base: req.base });
  const report = buildConsensusReport({
    annotations: req.annotations.source,
    images: sheet.images.length,
    annotators: sheet.annotators,
    duplicates: sheet.duplicates,
    soft,
    options,
    results,
    hardened: labels.hardened,
    base: req.base && labels.base ? { path: req.base.source, comparison: labels.base, appended: labels.appended } : null,
    generated: req.generated ?? new Date().toISOString(),
  });
  return { sheet, results, labelsCsv: labels.csv, posteriorsCsv: formatPosteriors(results), report };
}
