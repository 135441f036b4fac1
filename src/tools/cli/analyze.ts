/**
 * npm run analyze -- <images...> [--out-dir <dir>] [--no-heatmaps] [--no-gate] [--concurrency N]
 * Prints one JSON document (per image: calibrated BCC probability and raw score, triage, patterns,
 * criterion, trace, image-gate warnings) and writes heatmap PNGs next to each image (or into
 * --out-dir). Images the image gate refuses (models/image-gate.json and the model's gate outputs)
 * are reported with the reasons and no score; --no-gate scores everything (for studying the raw
 * model). Images go through read -> analysis -> heatmaps --concurrency at a time (default
 * DEFAULT_ANALYSIS_CONCURRENCY), so thousands of paths hold only that many images in memory. Exit 0
 * when every image was analysed, 1 when some were refused or unreadable (still reported), 2 on bad
 * usage or a broken model.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ImageResult } from '../../analysis/analyze-images.ts';
import { DEFAULT_ANALYSIS_CONCURRENCY, analyzeImages } from '../../analysis/analyze-images.ts';
import { modelPaths } from '../../config.ts';
import { compositeOverlay } from '../../explain/heatmap-png.ts';
import { renderAnalysisHeatmaps } from '../../analysis/analysis-heatmaps.ts';
import { assessablePatterns } from '../../model/manifest.ts';
import type { BccModel } from '../../model/session.ts';
import { openModel } from '../../model/session.ts';
import { OperationOutcomeError, describeOutcome, unprocessable } from '../../common/outcomes.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';
import { loadRuleSet } from '../../rules/rule-set.ts';
import { loadGateConfig } from '../../gate/gate-config.ts';
import { describeModelGate } from '../../gate/model-gate.ts';
import { operatingPoints } from '../../model/calibration.ts';

const USAGE = 'usage: npm run analyze -- <image...> [--out-dir <dir>] [--no-heatmaps] [--no-gate] [--concurrency N]';

export const DECISION_SUPPORT_NOTICE =
  'Decision support for triage only, not a diagnosis: a dermatologist reviews every referral. Research model, not for clinical decisions.';

async function readInput(path: string): Promise<Buffer | string> {
  try {
    return await readFile(path);
  } catch (err) {
    return `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

async function writeHeatmaps(r: Extract<ImageResult, { ok: true }>, model: BccModel, outDir: string | undefined): Promise<Record<string, string>> {
  const a = r.analysis;
  const maps = await renderAnalysisHeatmaps(a, model);
  const stem = basename(r.id, extname(r.id));
  const dir = outDir ?? dirname(r.id);
  const files: Record<string, string> = {};
  for (const m of maps) {
    const file = join(dir, `${stem}.${m.output}-heatmap.png`);
    await writeFile(file, await compositeOverlay(r.image.bytes, m.png, m.width, m.height));
    files[m.output] = file;
  }
  return files;
}

/** The report's entry for one image, with its heatmaps written (unless --no-heatmaps). */
async function describeImage(r: ImageResult, model: BccModel, heatmaps: { readonly write: boolean; readonly outDir: string | undefined }): Promise<Record<string, unknown>> {
  if (!r.ok) {
    const rejection = r.rejection ? { rejected: { stage: r.rejection.stage, reasons: r.rejection.reasons, warnings: r.rejection.warnings } } : {};
    return { image: r.id, ok: false, error: describeOutcome(r.outcome), outcome: r.outcome, ...rejection };
  }
  const m = model.manifest;
  const a = r.analysis;
  return {
    image: r.id,
    ok: true,
    size: { width: a.image.width, height: a.image.height, format: a.image.format },
    bcc: {
      probability: Number(a.findings.bccProbability.toFixed(4)),
      rawScore: Number(a.findings.bccScore.toFixed(4)),
      calibrated: m.calibration !== undefined,
      networkVerdict: a.triage.networkVerdict,
    },
    triage: { category: a.triage.category, display: a.triage.categoryDisplay, rule: a.triage.rule },
    patterns: a.findings.patterns.map((p) => ({
      id: p.id,
      display: p.display,
      role: p.role,
      status: p.status,
      ...(p.probability !== undefined ? { probability: Number(p.probability.toFixed(4)), threshold: p.threshold } : {}),
    })),
    criterion: { verdict: a.criterion.verdict, clause: a.criterion.clause, evidence: a.criterion.evidence },
    concordance: a.triage.concordance,
    trace: a.triage.trace,
    gateWarnings: a.warnings,
    heatmaps: heatmaps.write ? await writeHeatmaps(r, model, heatmaps.outDir) : {},
  };
}

const OPTIONS = {
  'out-dir': { type: 'string' },
  'no-heatmaps': { type: 'boolean', default: false },
  'no-gate': { type: 'boolean', default: false },
  concurrency: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (err) {
    process.stderr.write(`analyze: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const concurrency = values.concurrency === undefined ? DEFAULT_ANALYSIS_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`analyze: --concurrency must be an integer >= 1, got "${values.concurrency ?? ''}"\n${USAGE}\n`);
    return 2;
  }
  const paths = modelPaths();
  const model = await openModel(paths.manifest);
  try {
    const rules = await loadRuleSet(paths.rules);
    const gate = values['no-gate'] ? undefined : await loadGateConfig(paths.gate);
    // The images are already `concurrency` at a time here: each analysis call takes one.
    const deps = { model, rules, ...(gate ? { gate } : {}), concurrency: 1 };
    const heatmaps = { write: !values['no-heatmaps'], outDir: values['out-dir'] };
    // Read -> analyse -> heatmaps per image, in argument order; a file that cannot be read is
    // reported like an unreadable image. Only the report entries are kept, not the images.
    const results = await mapConcurrent(positionals, concurrency, async (path) => {
      const read = await readInput(path);
      const [r] = typeof read === 'string' ? [] : await analyzeImages(deps, [{ id: path, where: path, bytes: read }]);
      const result: ImageResult = r ?? { ok: false, id: path, outcome: unprocessable(typeof read === 'string' ? read : 'not analysed', path) };
      return { ok: result.ok, entry: await describeImage(result, model, heatmaps) };
    });
    const m = model.manifest;
    const report = {
      notice: DECISION_SUPPORT_NOTICE,
      model: { name: m.name, version: m.version, sha256: m.sha256 },
      rules: { id: rules.id, version: rules.version },
      assessablePatterns: assessablePatterns(m).map((p) => p.id),
      notAssessedPatterns: m.patterns.filter((p) => !p.trained).map((p) => p.id),
      operatingPoints: operatingPoints(m),
      imageGate: gate ? `quality checks ${gate.name} ${gate.version}; ${describeModelGate(m)}` : 'off (--no-gate)',
      images: results.map((r) => r.entry),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    await model.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const text = err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : String(err);
    process.stderr.write(`analyze: ${text}\n`);
    process.exitCode = 2;
  },
);
