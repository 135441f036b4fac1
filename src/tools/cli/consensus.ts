/**
 * npm run consensus -- --annotations <sheet.csv> --out <labels.csv> [--report report.json]
 *   [--posteriors posteriors.csv] [--soft] [--base <labels.csv>] [--manifest <model.json>]
 *   [--min-annotators N]
 *
 * Turns dermatologists' votes (long format image,annotator,label,value; see src/tools/consensus/README.md)
 * into one label per image by Dawid-Skene EM and writes them as a labels.csv that training/train.py
 * reads. --base starts from an existing labels.csv (keeps its rows and other cells; the consensus
 * replaces the cells it decided). The posteriors go to --posteriors (default: beside --out,
 * <name>.posteriors.csv); the report to --report, and a summary to stdout.
 * Exit 0 on success; 2 on bad usage or a sheet with errors (every problem is listed: unknown
 * label, a value other than 0/1/empty, conflicting duplicate votes) or a label with fewer
 * annotators than --min-annotators (default 1: a single-annotator label is allowed and reported).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { modelPaths } from '../../config.ts';
import type { LabelConsensus } from '../consensus/label-consensus.ts';
import { UsageError, integerFlag, parseFlags, runCli } from './cli-run.ts';
import { runConsensus } from '../consensus/run-consensus.ts';
import { loadManifest } from '../../model/manifest.ts';
import { OperationOutcomeError, badRequest, describeOutcome, manyIssues } from '../../common/outcomes.ts';

const USAGE =
  'usage: npm run consensus -- --annotations <sheet.csv> --out <labels.csv> [--report report.json] [--posteriors file.csv] [--soft] [--base labels.csv] [--manifest model.json] [--min-annotators N]';

interface Options {
  readonly annotations: string;
  readonly out: string;
  readonly report: string | undefined;
  readonly posteriors: string;
  readonly soft: boolean;
  readonly base: string | undefined;
  readonly manifest: string;
  readonly minAnnotators: number;
}

const FLAGS = {
  annotations: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  posteriors: { type: 'string' },
  soft: { type: 'boolean', default: false },
  base: { type: 'string' },
  manifest: { type: 'string' },
  'min-annotators': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function readOptions(argv: readonly string[]): Options {
  const values = parseFlags(argv, FLAGS);
  if (values.help) {
    throw new UsageError('');
  }
  if (values.annotations === undefined || values.out === undefined) {
    throw new UsageError('--annotations and --out are required');
  }
  const min = integerFlag('min-annotators', values['min-annotators'], 1) ?? 1;
  const out = resolve(values.out);
  return {
    annotations: resolve(values.annotations),
    out,
    report: values.report === undefined ? undefined : resolve(values.report),
    posteriors: values.posteriors === undefined ? join(dirname(out), `${basename(out, '.csv')}.posteriors.csv`) : resolve(values.posteriors),
    soft: values.soft,
    base: values.base === undefined ? undefined : resolve(values.base),
    manifest: values.manifest === undefined ? modelPaths().manifest : resolve(values.manifest),
    minAnnotators: min,
  };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path), err);
  }
}

function checkAnnotatorCount(results: readonly LabelConsensus[], min: number, source: string): void {
  const few = results.filter((r) => r.status !== 'not-annotated' && r.annotators.length < min);
  if (few.length) {
    throw new OperationOutcomeError(
      manyIssues(
        'invalid',
        few.map((r) => ({ text: `label ${r.label} has ${r.annotators.length} annotator(s) (${r.annotators.join(', ')}); --min-annotators is ${min}`, expression: `${source} label ${r.label}` })),
      ),
    );
  }
}

function formatFixed(x: number | null): string {
  return x === null ? '-' : x.toFixed(2);
}

function formatSummary(results: readonly LabelConsensus[]): string {
  const lines = ['label                        status            images  raters  positives  fleiss  EM!=majority  ties'];
  for (const r of results) {
    const ties = r.items.filter((i) => i.majority.decision === 'tie').length;
    const split = r.items.filter((i) => i.majority.decision !== 'tie' && i.majority.decision !== i.consensus).length;
    lines.push(
      [
        r.label.padEnd(28),
        r.status.padEnd(16),
        String(r.items.length).padStart(7),
        String(r.annotators.length).padStart(7),
        String(r.items.filter((i) => i.consensus === 1).length).padStart(10),
        formatFixed(r.fleissKappa.value).padStart(7),
        String(split).padStart(13),
        String(ties).padStart(5),
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function writeOut(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = readOptions(argv);
  const manifest = await loadManifest(opts.manifest);
  const labels = ['bcc', ...manifest.patterns.map((p) => p.id)];
  const result = runConsensus({
    annotations: { text: await readText(opts.annotations, 'annotations'), source: opts.annotations },
    labels,
    soft: opts.soft,
    base: opts.base === undefined ? undefined : { text: await readText(opts.base, 'base labels'), source: opts.base },
  });
  checkAnnotatorCount(result.results, opts.minAnnotators, opts.annotations);
  await writeOut(opts.out, result.labelsCsv);
  await writeOut(opts.posteriors, result.posteriorsCsv);
  if (opts.report) {
    await writeOut(opts.report, `${JSON.stringify(result.report, null, 2)}\n`);
  }
  process.stdout.write(formatSummary(result.results));
  const warnings = result.report.warnings;
  for (const w of Array.isArray(warnings) ? warnings : []) {
    process.stderr.write(`consensus: warning: ${String(w)}\n`);
  }
  process.stdout.write(`labels: ${opts.out}\nposteriors: ${opts.posteriors}\n${opts.report ? `report: ${opts.report}\n` : ''}`);
  return 0;
}

// One line per issue: a sheet with several problems is fixed in one pass.
runCli('consensus', USAGE, main, (err) =>
  err instanceof OperationOutcomeError ? err.outcome.issue.map((i) => describeOutcome({ resourceType: 'OperationOutcome', issue: [i] })).join('\n  ') : String(err),
);
