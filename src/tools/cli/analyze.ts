/**
 * npm run analyze -- <images...> [--out-dir <dir>] [--no-heatmaps] [--no-gate]
 * Prints one JSON document (per image: calibrated BCC probability and raw score, triage, patterns,
 * criterion, trace, image-gate warnings) and writes heatmap PNGs next to each image (or into
 * --out-dir). Images the image gate refuses (models/image-gate.json and the model's gate outputs)
 * are reported with the reasons and no score; --no-gate scores everything (for studying the raw
 * model). Exit 0 when every image was analysed, 1 when some were refused or unreadable (still
 * reported), 2 on bad usage or a broken model.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ImageResult } from '../../analysis/analyze-images.ts';
import { analyzeImages } from '../../analysis/analyze-images.ts';
import { modelPaths } from '../../config.ts';
import { compositeOverlay } from '../../explain/heatmap-png.ts';
import { renderAnalysisHeatmaps } from '../../analysis/analysis-heatmaps.ts';
import { assessablePatterns } from '../../model/manifest.ts';
import type { BccModel } from '../../model/session.ts';
import { openModel } from '../../model/session.ts';
import { OperationOutcomeError, describeOutcome, unprocessable } from '../../common/outcomes.ts';
import { loadRuleSet } from '../../rules/rule-set.ts';
import { loadGateConfig } from '../../gate/gate-config.ts';
import { describeModelGate } from '../../gate/model-gate.ts';
import { operatingPoints } from '../../model/calibration.ts';

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

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'out-dir': { type: 'string' },
      'no-heatmaps': { type: 'boolean', default: false },
      'no-gate': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write('usage: npm run analyze -- <image...> [--out-dir <dir>] [--no-heatmaps] [--no-gate]\n');
    return 2;
  }
  const paths = modelPaths();
  const model = await openModel(paths.manifest);
  const rules = await loadRuleSet(paths.rules);
  const gate = values['no-gate'] ? undefined : await loadGateConfig(paths.gate);
  const files = await Promise.all(positionals.map(async (p) => ({ id: p, read: await readInput(p) })));
  const inputs = files.flatMap((f) => (typeof f.read === 'string' ? [] : [{ id: f.id, where: f.id, bytes: f.read }]));
  const analysed = await analyzeImages({ model, rules, ...(gate ? { gate } : {}) }, inputs);
  // Results in argument order; a file that cannot be read is reported like an unreadable image.
  const results: ImageResult[] = files.map((f) =>
    typeof f.read === 'string'
      ? { ok: false, id: f.id, outcome: unprocessable(f.read, f.id) }
      : (analysed.find((r) => r.id === f.id) ?? { ok: false, id: f.id, outcome: unprocessable('not analysed', f.id) }),
  );
  const m = model.manifest;
  const images = [];
  for (const r of results) {
    if (!r.ok) {
      const rejection = r.rejection ? { rejected: { stage: r.rejection.stage, reasons: r.rejection.reasons, warnings: r.rejection.warnings } } : {};
      images.push({ image: r.id, ok: false, error: describeOutcome(r.outcome), outcome: r.outcome, ...rejection });
      continue;
    }
    const a = r.analysis;
    images.push({
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
      heatmaps: values['no-heatmaps'] ? {} : await writeHeatmaps(r, model, values['out-dir']),
    });
  }
  const report = {
    notice: DECISION_SUPPORT_NOTICE,
    model: { name: m.name, version: m.version, sha256: m.sha256 },
    rules: { id: rules.id, version: rules.version },
    assessablePatterns: assessablePatterns(m).map((p) => p.id),
    notAssessedPatterns: m.patterns.filter((p) => !p.trained).map((p) => p.id),
    operatingPoints: operatingPoints(m),
    imageGate: gate ? `quality checks ${gate.name} ${gate.version}; ${describeModelGate(m)}` : 'off (--no-gate)',
    images,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await model.close();
  return results.every((r) => r.ok) ? 0 : 1;
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
