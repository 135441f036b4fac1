/**
 * npm run evaluate -- [--data <dir>] [--json out.json] [--plots <dir>] [--model <manifest.json>] [--gate <image-gate.json>] [--limit N] [--seed S]
 * Runs the installed (or given) model over a labelled folder (labels.csv, see
 * ../shared/data/dermoscopy/README.md) and reports BCC discrimination, operating points, pattern
 * heads, explanation consistency, heatmap localisation and calibration, with 95% CIs, for all
 * images and per source (issue #21): with them, whether the image gate (BCC_IMAGE_GATE or --gate,
 * and the model's modality/OOD checks) accepts the dermoscopic images and refuses the clinical
 * photos listed in the folder's clinical.csv, if it has one. Every image is scored (the gate runs
 * with its refusals as warnings), so the BCC figures are those of the raw model on all images.
 * Prints a table; writes the full result as JSON (--json) and roc.png + reliability.png (--plots,
 * default: beside --json). Nothing is written anywhere else: the data stays outside the repo.
 * Exit 0 when images were evaluated (unreadable ones are listed, not fatal), 1 when none could be,
 * 2 on bad usage, missing data or a broken model. --limit N evaluates N rows spread evenly over
 * labels.csv, for a quick look.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError, integerFlag, parseFlags, runCli } from './cli-run.ts';
import sharp from 'sharp';
import type { ImageAnalysis, ImageInput } from '../../analysis/analyze-images.ts';
import { DEFAULT_ANALYSIS_CONCURRENCY, analyzeImages } from '../../analysis/analyze-images.ts';
import { PROJECT_ROOT, modelPaths } from '../../config.ts';
import type { GateConfig } from '../../gate/gate-config.ts';
import { loadGateConfig } from '../../gate/gate-config.ts';
import { gateOutcomeOf, withRefusalsAsWarnings } from '../evaluation/gate-outcome.ts';
import type { ClinicalImage } from '../evaluation/per-source.ts';
import { describeEstimates } from '../evaluation/estimates.ts';
import { selectCamChannel } from '../../explain/cam-map.ts';
import type { EvaluationMetrics, EvaluatedImage, SkippedImage } from '../evaluation/report.ts';
import { measureEvaluation } from '../evaluation/report.ts';
import type { LabelledImage } from '../evaluation/labels.ts';
import { parseLabels } from '../evaluation/labels.ts';
import type { ImageLocalisation, LesionMask } from '../evaluation/localisation.ts';
import { localiseHeatmap } from '../evaluation/localisation.ts';
import { drawReliabilitySvg, drawRocSvg, rasterisePng } from '../evaluation/plots.ts';
import { formatEvaluationTable } from '../evaluation/table.ts';
import type { BccModel } from '../../model/session.ts';
import { openModel } from '../../model/session.ts';
import { describeOutcome } from '../../common/outcomes.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';
import type { RuleSet } from '../../rules/rule-set.ts';
import { loadRuleSet } from '../../rules/rule-set.ts';

const USAGE = 'usage: npm run evaluate -- [--data <dir>] [--json out.json] [--plots <dir>] [--model <manifest.json>] [--gate <image-gate.json>] [--limit N] [--seed S]';
const DEFAULT_DATA = resolve(PROJECT_ROOT, '../shared/data/dermoscopy');
/**
 * Rows per chunk: bounds the files held in memory at once. Within a chunk the files are read, and
 * then analysed, DEFAULT_ANALYSIS_CONCURRENCY at a time.
 */
const CHUNK = 32;
const BOOTSTRAP = { resamples: 2000, seed: 20261126 } as const;

interface Options {
  readonly data: string;
  readonly json: string | undefined;
  readonly plots: string | undefined;
  readonly model: string;
  readonly gate: string;
  readonly limit: number | undefined;
  readonly seed: number;
}

const FLAGS = {
  data: { type: 'string' },
  json: { type: 'string' },
  plots: { type: 'string' },
  model: { type: 'string' },
  gate: { type: 'string' },
  limit: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function readOptions(argv: readonly string[]): Options {
  const values = parseFlags(argv, FLAGS);
  if (values.help) {
    throw new UsageError('');
  }
  const json = values.json === undefined ? undefined : resolve(values.json);
  return {
    data: values.data === undefined ? DEFAULT_DATA : resolve(values.data),
    json,
    plots: values.plots !== undefined ? resolve(values.plots) : json !== undefined ? dirname(json) : undefined,
    model: values.model === undefined ? modelPaths().manifest : resolve(values.model),
    gate: values.gate === undefined ? modelPaths().gate : resolve(values.gate),
    limit: integerFlag('limit', values.limit, 1),
    seed: integerFlag('seed', values.seed, 0) ?? BOOTSTRAP.seed,
  };
}

/**
 * N rows spread evenly over the file, deterministically: labels.csv is sorted by source, so the
 * first N rows would be one source and often one class.
 */
function spreadSample<T>(rows: readonly T[], n: number): T[] {
  if (n >= rows.length) {
    return [...rows];
  }
  return Array.from({ length: n }, (_, k) => rows[Math.floor((k * rows.length) / n)]!);
}

async function readBytes(path: string): Promise<Buffer | string> {
  try {
    return await readFile(path);
  } catch (err) {
    return `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** The lesion mask as one 8-bit channel in the upright frame (masks are 1-bit palette PNGs). */
async function readMask(path: string): Promise<LesionMask> {
  const { data, info } = await sharp(path).rotate().removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
  const plane = new Uint8Array(info.width * info.height);
  for (let i = 0; i < plane.length; i++) {
    plane[i] = data[i * info.channels]!;
  }
  return { width: info.width, height: info.height, data: plane };
}

interface Collected {
  readonly images: EvaluatedImage[];
  readonly clinical: ClinicalImage[];
  readonly unreadable: SkippedImage[];
  readonly localisation: ImageLocalisation[];
  readonly localisationSkipped: SkippedImage[];
}

async function measureLocalisation(
  row: LabelledImage,
  dataDir: string,
  model: BccModel,
  analysis: Pick<ImageAnalysis, 'cam' | 'region' | 'image'>,
  into: Collected,
): Promise<void> {
  if (row.bcc !== 1 || row.mask === undefined) {
    return;
  }
  let mask: LesionMask;
  try {
    mask = await readMask(join(dataDir, row.mask));
  } catch (err) {
    into.localisationSkipped.push({ image: row.image, reason: `mask ${row.mask} is unreadable: ${(err as Error).message}` });
    return;
  }
  const { width, height } = analysis.image;
  if (mask.width !== width || mask.height !== height) {
    into.localisationSkipped.push({ image: row.image, reason: `mask is ${mask.width}x${mask.height}, image is ${width}x${height}` });
    return;
  }
  const cam = selectCamChannel(analysis.cam, model.cam.channels, model.cam.height, model.cam.width, 0);
  const result = localiseHeatmap(cam, analysis.region, mask);
  if (result) {
    into.localisation.push(result);
  } else {
    into.localisationSkipped.push({ image: row.image, reason: 'mask is all lesion or all background where the network looks' });
  }
}

interface EvaluateDeps {
  readonly model: BccModel;
  readonly rules: RuleSet;
  /** The gate as configured (refusals read back against it). */
  readonly gate: GateConfig;
}

/** `clinical`: the rows are clinical photos, measured for the gate only. */
async function evaluateChunk(rows: readonly LabelledImage[], dataDir: string, deps: EvaluateDeps, into: Collected, clinical = false): Promise<void> {
  const files = await mapConcurrent(rows, DEFAULT_ANALYSIS_CONCURRENCY, async (row) => ({ row, read: await readBytes(join(dataDir, row.image)) }));
  const inputs: ImageInput[] = files.flatMap((f) => (typeof f.read === 'string' ? [] : [{ id: f.row.image, where: f.row.image, bytes: f.read }]));
  const results = await analyzeImages({ model: deps.model, rules: deps.rules, gate: withRefusalsAsWarnings(deps.gate) }, inputs);
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const { row, read } of files) {
    const r = byId.get(row.image);
    if (typeof read === 'string' || !r?.ok) {
      const reason = typeof read === 'string' ? read : r && !r.ok ? describeOutcome(r.outcome) : 'not analysed';
      into.unreadable.push({ image: row.image, reason });
      continue;
    }
    const gate = gateOutcomeOf(r.analysis.warnings, deps.gate);
    if (clinical) {
      into.clinical.push({ source: row.source, gate });
      continue;
    }
    into.images.push({ image: row.image, group: row.group, source: row.source, bcc: row.bcc, patternLabels: row.patterns, findings: r.analysis.findings, gate });
    await measureLocalisation(row, dataDir, deps.model, r.analysis, into);
  }
}

async function dataFile(dataDir: string, name: string): Promise<string | undefined> {
  const path = join(dataDir, name);
  try {
    await access(path);
    return path;
  } catch {
    return undefined;
  }
}

/** JSON has no NaN or Infinity: a metric that does not exist (a missing class) is written as null. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

function warnIfInsideProject(path: string): void {
  const rel = relative(PROJECT_ROOT, path);
  if (!rel.startsWith('..') && !rel.startsWith('/')) {
    process.stderr.write(`evaluate: warning: ${path} is inside the project; keep evaluation outputs (derived from research data) out of git\n`);
  }
}

async function writePlots(dir: string, metrics: EvaluationMetrics, modelName: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const series = Object.entries(metrics.bcc)
    .filter(([, b]) => b.roc.length > 0)
    .map(([label, b]) => ({ label, points: b.roc, auc: b.auc.value }));
  const roc = join(dir, 'roc.png');
  const reliability = join(dir, 'reliability.png');
  const reliabilityRaw = join(dir, 'reliability-raw.png');
  await writeFile(roc, await rasterisePng(drawRocSvg(series, { title: `BCC ROC, ${modelName}` })));
  const all = metrics.bcc.all;
  if (all) {
    await writeFile(reliability, await rasterisePng(drawReliabilitySvg(all.calibration, { title: `BCC reliability (reported probability), ${modelName}` })));
    await writeFile(reliabilityRaw, await rasterisePng(drawReliabilitySvg(all.calibrationRaw, { title: `BCC reliability (raw network output), ${modelName}` })));
  }
  return all ? [roc, reliability, reliabilityRaw] : [roc];
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = readOptions(argv);
  const labelsPath = await dataFile(opts.data, 'labels.csv');
  if (!labelsPath) {
    process.stderr.write(`evaluate: no labelled data at ${opts.data} (needs labels.csv; the development set lives in ../shared/data/dermoscopy)\n`);
    return 2;
  }
  const started = performance.now();
  const allRows = parseLabels(await readFile(labelsPath, 'utf8'), labelsPath);
  const rows = opts.limit === undefined ? allRows : spreadSample(allRows, opts.limit);
  const clinicalPath = await dataFile(opts.data, 'clinical.csv');
  const allClinical = clinicalPath ? parseLabels(await readFile(clinicalPath, 'utf8'), clinicalPath) : [];
  const clinicalRows = opts.limit === undefined ? allClinical : spreadSample(allClinical, opts.limit);
  const model = await openModel(opts.model);
  const rules = await loadRuleSet(modelPaths().rules);
  const gate = await loadGateConfig(opts.gate);
  const collected: Collected = { images: [], clinical: [], unreadable: [], localisation: [], localisationSkipped: [] };
  const total = rows.length + clinicalRows.length;
  try {
    let done = 0;
    for (const list of [{ rows, clinical: false }, { rows: clinicalRows, clinical: true }]) {
      for (let i = 0; i < list.rows.length; i += CHUNK) {
        const chunk = list.rows.slice(i, i + CHUNK);
        await evaluateChunk(chunk, opts.data, { model, rules, gate }, collected, list.clinical);
        done += chunk.length;
        if (process.stderr.isTTY) {
          process.stderr.write(`\revaluate: ${done}/${total} images`);
        }
      }
    }
  } finally {
    await model.close();
  }
  if (process.stderr.isTTY) {
    process.stderr.write('\n');
  }
  const m = model.manifest;
  const metrics = measureEvaluation({ ...collected, manifest: m, bootstrap: { resamples: BOOTSTRAP.resamples, seed: opts.seed } });
  const sources = [...new Set(rows.map((r) => r.source))].sort();
  const report = {
    notice: 'Research evaluation of a decision-support model; not evidence of clinical performance on other populations.',
    generated: new Date().toISOString(),
    durationSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    model: { name: m.name, version: m.version, sha256: m.sha256, manifest: opts.model },
    rules: { id: rules.id, version: rules.version },
    gate: { name: gate.name, version: gate.version, file: opts.gate, applied: 'every image scored; refusals of the configured gate recorded per image (its reject checks run as warnings)' },
    data: { path: opts.data, labels: labelsPath, clinical: clinicalPath ?? null, limit: opts.limit ?? null },
    estimates: describeEstimates(m, opts.data === DEFAULT_DATA),
    settings: { bootstrap: { resamples: BOOTSTRAP.resamples, seed: opts.seed, unit: 'lesion group' }, ci: 'Wilson 95% for proportions', thresholds: m.thresholds },
    counts: {
      rows: rows.length,
      analysed: collected.images.length,
      unreadable: collected.unreadable.length,
      clinicalRows: clinicalRows.length,
      clinicalAnalysed: collected.clinical.length,
      bySource: Object.fromEntries(
        sources.map((s) => [
          s,
          {
            rows: rows.filter((r) => r.source === s).length,
            analysed: collected.images.filter((r) => r.source === s).length,
            bcc: collected.images.filter((r) => r.source === s && r.bcc === 1).length,
          },
        ]),
      ),
    },
    unreadable: collected.unreadable,
    metrics,
    images: collected.images.map((r) => ({
      image: r.image,
      source: r.source,
      group: r.group,
      bcc: r.bcc ?? null,
      bccProbability: r.findings.bccProbability,
      gate: r.gate ?? null,
      patterns: Object.fromEntries(r.findings.patterns.flatMap((p) => (p.probability === undefined ? [] : [[p.id, p.probability]]))),
    })),
  };
  process.stdout.write(formatEvaluationTable(report));
  if (opts.json) {
    warnIfInsideProject(opts.json);
    await mkdir(dirname(opts.json), { recursive: true });
    await writeFile(opts.json, `${JSON.stringify(report, finiteOrNull, 2)}\n`);
    process.stdout.write(`\nJSON: ${opts.json}\n`);
  }
  if (opts.plots) {
    warnIfInsideProject(opts.plots);
    const files = await writePlots(opts.plots, metrics, `${m.name} ${m.version}`);
    process.stdout.write(`Plots: ${files.join(', ')}\n`);
  }
  process.stdout.write(`Took ${report.durationSeconds} s\n`);
  return collected.images.length > 0 ? 0 : 1;
}

runCli('evaluate', USAGE, main);
