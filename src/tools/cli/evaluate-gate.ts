/**
 * npm run evaluate:gate -- [--data <dir>] [--json out.json] [--config models/image-gate.json] [--limit N] [--seed S] [--write-metrics]
 * Measures the image-quality gate (src/gate/) on the development images: false rejections of the
 * dermoscopic originals, and how many degraded copies it catches (Gaussian blur, over- and
 * under-exposure, made in memory with sharp and re-encoded as JPEG), per strength. Lesion groups are
 * split in two halves: limits are suggested from half A and the file's limits reported on half B
 * (held out) and on all. The clinical close-ups are measured for information. Images are read at
 * run time and never written anywhere. --write-metrics stores the summary in the config's `metrics`.
 * Exit 0 on success, 1 when nothing could be measured, 2 on bad usage or missing data.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { integerFlag, parseFlags } from './cli-run.ts';
import sharp from 'sharp';
import { DEFAULT_IMAGE_GATE, DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../../config.ts';
import type { Proportion } from '../../common/stats/confidence.ts';
import { parseLabels } from '../evaluation/labels.ts';
import type { LabelledImage } from '../evaluation/labels.ts';
import type { GateConfig } from '../../gate/gate-config.ts';
import { loadGateConfig } from '../../gate/gate-config.ts';
import type { MeasuredImage } from '../evaluation/gate-evaluation.ts';
import { catchRate, lesionAgreement, positionOfMask, rejectionRates, splitHalf, suggestLimit } from '../evaluation/gate-evaluation.ts';
import type { QualityReasonCode } from '../../gate/gate-reasons.ts';
import type { LesionPosition } from '../../gate/quality-measures.ts';
import { measureQuality } from '../../gate/quality-measures.ts';
import { decodeDermoscopy } from '../../imaging/decode.ts';
import { toModelInput } from '../../imaging/preprocess.ts';
import { loadManifest } from '../../model/manifest.ts';
import { OperationOutcomeError, describeOutcome } from '../../common/outcomes.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';

const USAGE = 'usage: npm run evaluate:gate -- [--data <dir>] [--json out.json] [--config <image-gate.json>] [--limit N] [--seed S] [--write-metrics]';
const DEFAULT_DATA = resolve(PROJECT_ROOT, '../shared/data/dermoscopy');
/**
 * False-rejection budget per check when suggesting limits: three measured reject checks share the
 * 2% target overall; within one source (another dermatoscope and export) a check may take 1%.
 */
const SUGGEST_BUDGET = 0.004;
const SOURCE_BUDGET = 0.01;
/** Images measured at once (each: its original and seven degraded copies, one after another). */
const CONCURRENCY = 4;

/**
 * Degradations. Blur sigma is in model-input pixels along the shorter side (sigma on the original =
 * s x shorter side / input size), so it means the same for a 150-px and a 3000-px photo. Exposure
 * multiplies the sRGB values (clipping at 255 as a sensor does).
 */
interface Degradation {
  readonly id: string;
  readonly kind: 'blur' | 'over' | 'under';
  readonly reason: QualityReasonCode;
  readonly strength: number;
  readonly describe: string;
}
const DEGRADATIONS: readonly Degradation[] = [
  ...[2, 2.5, 3].map((s) => ({ id: `blur-${s}`, kind: 'blur' as const, reason: 'blurred' as const, strength: s, describe: `Gaussian blur, sigma ${s} px at the model input` })),
  ...[1.7, 2].map((g) => ({ id: `over-${g}`, kind: 'over' as const, reason: 'over-exposed' as const, strength: g, describe: `sRGB values x ${g}` })),
  ...[0.6, 0.5].map((g) => ({ id: `under-${g}`, kind: 'under' as const, reason: 'under-exposed' as const, strength: g, describe: `sRGB values x ${g}` })),
];

interface Options {
  readonly data: string;
  readonly json: string | undefined;
  readonly config: string;
  readonly limit: number | undefined;
  readonly seed: number;
  readonly writeMetrics: boolean;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const v = parseFlags(argv, {
    data: { type: 'string' },
    json: { type: 'string' },
    config: { type: 'string' },
    limit: { type: 'string' },
    seed: { type: 'string' },
    'write-metrics': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    return 'help';
  }
  return {
    data: resolve(v.data ?? DEFAULT_DATA),
    json: v.json,
    config: resolve(v.config ?? DEFAULT_IMAGE_GATE),
    limit: integerFlag('limit', v.limit, 1),
    seed: integerFlag('seed', v.seed, 0) ?? 20261126,
    writeMetrics: v['write-metrics'],
  };
}

/** N rows spread evenly over the list (labels.csv is sorted by source). */
function spread<T>(rows: readonly T[], n: number | undefined): T[] {
  if (n === undefined || n >= rows.length) {
    return [...rows];
  }
  return Array.from({ length: n }, (_, k) => rows[Math.floor((k * rows.length) / n)]!);
}

async function degrade(bytes: Buffer, d: Degradation, shorterSide: number, inputSize: number): Promise<Buffer> {
  const img = sharp(bytes, { failOn: 'error' }).rotate();
  const out = d.kind === 'blur' ? img.blur(Math.max(0.3, (d.strength * shorterSide) / inputSize)) : img.linear(d.strength, 0);
  return out.jpeg({ quality: 90 }).toBuffer();
}

interface Measured {
  readonly original: MeasuredImage;
  /** From the lesion outline (HAM10000 rows), on the same grid as the gate's lesion finder. */
  readonly maskPosition: LesionPosition | null;
  readonly degraded: Readonly<Record<string, MeasuredImage>>;
}

/** The outline's position on the lesion finder's grid: what the finder should have found. */
async function maskLesion(path: string, grid: number): Promise<LesionPosition | null> {
  const cells = await sharp(path).greyscale().resize(grid, grid, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  return positionOfMask(Uint8Array.from(cells, (v) => (v > 127 ? 1 : 0)), grid);
}

const pct = (p: Proportion): string => (Number.isNaN(p.value) ? '-' : `${(100 * p.value).toFixed(1)}% (${(100 * p.ci95[0]).toFixed(1)}-${(100 * p.ci95[1]).toFixed(1)}) ${p.k}/${p.n}`);

async function main(argv: readonly string[]): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`evaluate:gate: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const labelsPath = join(opts.data, 'labels.csv');
  try {
    await access(labelsPath);
  } catch {
    process.stderr.write(`evaluate:gate: the development data is not there: no ${labelsPath} (it lives in ../shared/data/dermoscopy, outside the repo)\n`);
    return 2;
  }
  let config: GateConfig;
  let spec;
  try {
    config = await loadGateConfig(opts.config);
    spec = (await loadManifest(DEFAULT_MODEL_MANIFEST)).input;
  } catch (err) {
    process.stderr.write(`evaluate:gate: ${err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : (err as Error).message}\n`);
    return 2;
  }
  const rows = spread(parseLabels(await readFile(labelsPath, 'utf8'), labelsPath), opts.limit);
  const clinicalPath = join(opts.data, 'clinical.csv');
  const clinicalRows = await readFile(clinicalPath, 'utf8').then(
    (t) => spread(parseLabels(t, clinicalPath), opts.limit),
    () => [] as LabelledImage[],
  );
  const started = Date.now();
  const skipped: string[] = [];

  const measureBytes = async (bytes: Buffer, row: LabelledImage, shorterSide?: number): Promise<MeasuredImage> => {
    const image = await decodeDermoscopy(bytes, undefined, row.image);
    const input = await toModelInput(image, spec, row.image);
    // A degraded copy keeps the original's size (it is the same photo).
    return { image: row.image, group: row.group, source: row.source, measures: measureQuality(input.raster, shorterSide ?? Math.min(image.width, image.height), config.measure) };
  };

  const measured = (
    await mapConcurrent(rows, CONCURRENCY, async (row): Promise<Measured | null> => {
      try {
        const bytes = await readFile(join(opts.data, row.image));
        const original = await measureBytes(bytes, row);
        const side = original.measures.shorterSide;
        const maskPosition = row.mask ? await maskLesion(join(opts.data, row.mask), config.measure.lesionGrid) : null;
        const degraded: Record<string, MeasuredImage> = {};
        for (const d of DEGRADATIONS) {
          degraded[d.id] = await measureBytes(await degrade(bytes, d, side, spec.size), row, side);
        }
        return { original, maskPosition, degraded };
      } catch (err) {
        skipped.push(`${row.image}: ${(err as Error).message}`);
        return null;
      }
    })
  ).filter((m): m is Measured => m !== null);
  const clinical = (
    await mapConcurrent(clinicalRows, CONCURRENCY, async (row) => {
      try {
        return await measureBytes(await readFile(join(opts.data, row.image)), row);
      } catch (err) {
        skipped.push(`${row.image}: ${(err as Error).message}`);
        return null;
      }
    })
  ).filter((m): m is MeasuredImage => m !== null);
  if (!measured.length) {
    process.stderr.write('evaluate:gate: no image could be measured\n');
    return 1;
  }

  const half = (m: MeasuredImage): 'a' | 'b' => splitHalf(m.group, opts.seed);
  const subsets = {
    all: measured,
    tune: measured.filter((m) => half(m.original) === 'a'),
    heldOut: measured.filter((m) => half(m.original) === 'b'),
  };
  const originals = (s: readonly Measured[]): MeasuredImage[] => s.map((m) => m.original);
  const degradedOf = (s: readonly Measured[], id: string): MeasuredImage[] => s.flatMap((m) => (m.degraded[id] ? [m.degraded[id]] : []));
  const sources = [...new Set(measured.map((m) => m.original.source))].sort();

  const suggested = Object.fromEntries(
    config.checks.filter((c) => c.action === 'reject' && c.code !== 'low-resolution').map((c) => [c.code, suggestLimit(originals(subsets.tune), c, SUGGEST_BUDGET, SOURCE_BUDGET)]),
  );
  const falseRejection = {
    all: rejectionRates(originals(subsets.all), config),
    heldOut: rejectionRates(originals(subsets.heldOut), config),
    bySource: Object.fromEntries(sources.map((s) => [s, rejectionRates(originals(subsets.all).filter((m) => m.source === s), config)])),
  };
  const degradations = DEGRADATIONS.map((d) => ({
    id: d.id,
    reason: d.reason,
    describe: d.describe,
    all: catchRate(degradedOf(subsets.all, d.id), config, d.reason),
    heldOut: catchRate(degradedOf(subsets.heldOut, d.id), config, d.reason),
  }));
  const clinicalRates = clinical.length ? rejectionRates(clinical, config) : null;
  const withMask = measured.flatMap((m) => (m.maskPosition ? [{ found: m.original.measures.lesion, truth: m.maskPosition }] : []));
  const lesion = lesionAgreement(withMask, config);
  const seconds = (Date.now() - started) / 1000;

  const out: string[] = [];
  out.push(`Image-quality gate ${config.name} ${config.version} on ${measured.length} dermoscopic images (${sources.join(', ')}) and ${clinical.length} clinical photos; ${seconds.toFixed(0)} s. Held-out half: ${subsets.heldOut.length} images.`);
  out.push('', '| check | limit | action | false rejections, all | held-out half | ' + sources.join(' | ') + ' | clinical photos |', '| --- | --- | --- | --- | --- | ' + sources.map(() => '---').join(' | ') + ' | --- |');
  for (const c of config.checks) {
    const cell = (r: { byCheck: Partial<Record<QualityReasonCode, Proportion>> }): string => (r.byCheck[c.code] ? pct(r.byCheck[c.code]!) : '-');
    out.push(`| ${c.code} (${c.measure} ${c.direction === 'min' ? '>=' : '<='} limit) | ${c.limit} | ${c.action} | ${cell(falseRejection.all)} | ${cell(falseRejection.heldOut)} | ${sources.map((s) => cell(falseRejection.bySource[s]!)).join(' | ')} | ${clinicalRates ? cell(clinicalRates) : '-'} |`);
  }
  out.push(`| **any reject** | | | **${pct(falseRejection.all.overall)}** | **${pct(falseRejection.heldOut.overall)}** | ${sources.map((s) => pct(falseRejection.bySource[s]!.overall)).join(' | ')} | ${clinicalRates ? pct(clinicalRates.overall) : '-'} |`);
  out.push('', '| degradation | caught by its check, all | held-out half | caught by any check, all |', '| --- | --- | --- | --- |');
  for (const d of degradations) {
    out.push(`| ${d.describe} | ${pct(d.all.thisReason)} | ${pct(d.heldOut.thisReason)} | ${pct(d.all.anyReason)} |`);
  }
  if (lesion) {
    out.push('', `Lesion finder vs the ${lesion.n} lesion outlines (found in ${pct(lesion.found)}): correlation of centroid offset ${lesion.offsetCorrelation.toFixed(2)}, of border share ${lesion.borderShareCorrelation.toFixed(2)}, of area ${lesion.areaCorrelation.toFixed(2)}.`);
    out.push(`lesion-off-centre: warned ${pct(lesion.offCentre.warnedWhenTrue)} of outlines off centre (offset > ${lesion.offCentre.truthLimit}), ${pct(lesion.offCentre.warnedWhenFalse)} of the rest.`);
    out.push(`lesion-cut-off: warned ${pct(lesion.cutOff.warnedWhenTrue)} of outlines cut off (border share > ${lesion.cutOff.truthLimit}), ${pct(lesion.cutOff.warnedWhenFalse)} of the rest.`);
  }
  out.push('', `Limits suggested by tuning half A (each check's false rejections <= ${SUGGEST_BUDGET * 100}% overall and <= ${SOURCE_BUDGET * 100}% in each source): ${JSON.stringify(suggested)}`);
  if (skipped.length) {
    out.push('', `Not measured (${skipped.length}): ${skipped.slice(0, 10).join('; ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const summary = {
    evaluated: new Date().toISOString().slice(0, 10),
    command: `npm run evaluate:gate -- --data ${relative(PROJECT_ROOT, opts.data)}${opts.limit ? ` --limit ${opts.limit}` : ''} --seed ${opts.seed}`,
    images: { dermoscopic: measured.length, bySource: Object.fromEntries(sources.map((s) => [s, originals(subsets.all).filter((m) => m.source === s).length])), heldOutHalf: subsets.heldOut.length, clinical: clinical.length, notMeasured: skipped.length },
    split: `lesion groups hashed into two halves (seed ${opts.seed}); limits chosen on half A, rates also reported on half B`,
    falseRejection,
    degradations,
    clinicalPhotos: clinicalRates,
    lesionFinderVsOutlines: lesion,
    suggestedLimitsFromHalfA: { budgetPerCheck: SUGGEST_BUDGET, budgetPerCheckInSource: SOURCE_BUDGET, limits: suggested },
  };
  if (opts.json) {
    const perImage = measured.map((m) => ({ image: m.original.image, source: m.original.source, half: half(m.original), original: m.original.measures, degraded: Object.fromEntries(Object.entries(m.degraded).map(([k, v]) => [k, v.measures])) }));
    await writeFile(opts.json, `${JSON.stringify({ summary, perImage, clinical: clinical.map((c) => ({ image: c.image, measures: c.measures })) }, null, 1)}\n`);
  }
  if (opts.writeMetrics) {
    const file = JSON.parse(await readFile(opts.config, 'utf8')) as Record<string, unknown>;
    file.metrics = summary;
    await writeFile(opts.config, `${JSON.stringify(file, null, 2)}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
