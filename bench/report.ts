/** The run's results as JSON, a markdown report, the issue's targets checked, and bench/README.md updated. */
import { readFile, writeFile } from 'node:fs/promises';
import type { E2eResult } from './e2e-bench.ts';
import type { InferenceResult } from './inference-bench.ts';
import { BATCHES } from './inference-bench.ts';
import type { MachineInfo } from './machine.ts';
import type { Stage, StageResult } from './stage-bench.ts';
import { STAGE_LABELS, STAGES } from './stage-bench.ts';
import { round } from './stats.ts';

export interface BenchRun {
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: MachineInfo;
  /** Raw inference every ratio divides by: fp32, the service's thread count, batch 1, median. */
  readonly reference: { readonly model: string; readonly threads: number; readonly msPerImage: number };
  readonly inference: readonly InferenceResult[];
  readonly stages: readonly StageResult[];
  readonly e2e: readonly E2eResult[];
  /** When the end-to-end part started and ended (the machine may be shared). */
  readonly e2eWindow?: { readonly start: string; readonly end: string };
}

export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly met: boolean | undefined;
}

/** Work per image that is not inference (and not waiting on the FHIR server): what the 2x target is about. */
export const NON_INFERENCE_STAGES: readonly Stage[] = ['decode', 'preprocess', 'cam', 'png', 'fhirBuild', 'json'];

export function nonInferenceMs(s: StageResult): number {
  return NON_INFERENCE_STAGES.reduce((sum, k) => sum + s.stages[k].wall.p50, 0);
}

export function checkTargets(run: BenchRun): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (target: string, value: number | undefined, unit: string, ok: (v: number) => boolean): void => {
    checks.push({ target, value: value === undefined ? 'not run' : `${round(value)}${unit}`, met: value === undefined ? undefined : ok(value) });
  };
  // The end-to-end targets for each model run (fp32 always, int8 when present).
  for (const e of run.e2e.length ? run.e2e : [undefined]) {
    const level = (c: number): E2eResult['levels'][number] | undefined => e?.levels.find((l) => l.concurrency === c);
    const c1 = level(1);
    const c16 = level(16);
    const m = e ? ` (${e.model})` : '';
    add(`concurrency 1: p50 <= 60 ms${m}`, c1?.latencyMs.p50, ' ms', (v) => v <= 60);
    add(`concurrency 1: p99 <= 120 ms${m}`, c1?.latencyMs.p99, ' ms', (v) => v <= 120);
    add(`concurrency 16: >= 25 hooks/s${m}`, c16?.hooksPerSecond, ' hooks/s', (v) => v >= 25);
    add(`concurrency 16: p99 <= 800 ms${m}`, c16?.latencyMs.p99, ' ms', (v) => v <= 800);
    add(`concurrency 16: zero errors${m}`, c16?.errors, '', (v) => v === 0);
    add(`peak RSS of the service <= 450 MB${m}`, e?.servicePeakRssMb, ' MB', (v) => v <= 450);
  }
  const twoMp = run.stages.find((s) => s.size.label === '2 MP');
  add('non-inference work per image at 2 MP <= 2x raw inference', twoMp ? nonInferenceMs(twoMp) / run.reference.msPerImage : undefined, 'x', (v) => v <= 2);
  const twelve = run.stages.find((s) => s.size.label === '12 MP');
  add('12 MP: decode + preprocess (shrink-on-load) <= 40 ms', twelve ? twelve.stages.decode.wall.p50 + twelve.stages.preprocess.wall.p50 : undefined, ' ms', (v) => v <= 40);
  const int8 = run.inference.find((i) => i.model === 'int8' && i.threads === run.reference.threads && i.batch === 1);
  checks.push({
    target: 'int8 model: speed-up reported (AUC within 0.005: see its manifest)',
    value: int8 ? `${round(run.reference.msPerImage / int8.msPerImage)}x faster` : 'no int8 model (run training/quantize.py)',
    met: int8 ? true : undefined,
  });
  return checks;
}

const f = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : String(round(x)));
const ratio = (x: number, ref: number): string => `${round(x / ref)}x`;
const mark = (m: boolean | undefined): string => (m === undefined ? 'n/a' : m ? 'met' : 'MISSED');

export function renderMarkdown(run: BenchRun): string {
  const m = run.machine;
  const ref = run.reference;
  const lines: string[] = [];
  lines.push(`Run ${run.startedAt} (${run.durationS} s), commit \`${m.commit}\`${m.dirty ? ' + uncommitted changes' : ''}; ${m.cores} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, UV_THREADPOOL_SIZE ${m.uvThreadpoolSize}.`);
  if (run.e2eWindow) {
    lines.push(`End-to-end part ran ${run.e2eWindow.start} to ${run.e2eWindow.end}.`);
  }
  lines.push('', `Reference (raw inference, ${ref.model}, ${ref.threads} threads, batch 1): **${f(ref.msPerImage)} ms/image**. Ratios below divide by it.`, '');

  lines.push('#### Raw inference, ms per image (median; CPU ms per image in brackets)', '');
  lines.push(`| model | threads | ${BATCHES.map((b) => `batch ${b}`).join(' | ')} |`, `| --- | --- | ${BATCHES.map(() => '---').join(' | ')} |`);
  const groups = new Map<string, InferenceResult[]>();
  for (const r of run.inference) {
    const k = `${r.model}|${r.threads}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [k, rs] of groups) {
    const [model, threads] = k.split('|');
    lines.push(`| ${String(model)} | ${String(threads)} | ${BATCHES.map((b) => rs.find((r) => r.batch === b)).map((r) => (r ? `${f(r.msPerImage)} (${f(r.cpuMsPerImage)})` : '-')).join(' | ')} |`);
  }

  if (run.stages.length) {
    lines.push('', '#### One image through the hook, per stage: median ms (x raw inference)', '');
    lines.push(`| stage | ${run.stages.map((s) => `${s.size.label} (${s.size.width}x${s.size.height}, ${Math.round(s.jpegBytes / 1024)} KB)`).join(' | ')} |`, `| --- | ${run.stages.map(() => '---').join(' | ')} |`);
    for (const k of STAGES) {
      lines.push(`| ${STAGE_LABELS[k]} | ${run.stages.map((s) => `${f(s.stages[k].wall.p50)} (${ratio(s.stages[k].wall.p50, ref.msPerImage)})`).join(' | ')} |`);
    }
    lines.push(`| **non-inference work** (decode .. JSON) | ${run.stages.map((s) => `**${f(nonInferenceMs(s))} (${ratio(nonInferenceMs(s), ref.msPerImage)})**`).join(' | ')} |`);
    lines.push(`| for reference: fetch as Binary JSON | ${run.stages.map((s) => f(s.fetchAsJson.wall.p50)).join(' | ')} |`);
    lines.push(`| for reference: full-resolution decode | ${run.stages.map((s) => f(s.fullDecode.wall.p50)).join(' | ')} |`);
    lines.push(`| overlays per image / PNG bytes / response bytes | ${run.stages.map((s) => `${s.heatmaps} / ${s.pngBytes} / ${s.responseBytes}`).join(' | ')} |`);
  }

  for (const e of run.e2e) {
    lines.push('', `#### End to end over HTTP, model ${e.model}: ${e.imagesPerHook} images of 2 MP per hook fetched from the FHIR server process (idle RSS ${f(e.serviceIdleRssMb)} MB)`, '');
    lines.push('| concurrency | p50 ms | p95 ms | p99 ms | hooks/s | answered | errors | peak RSS MB | CPU ms/hook service | CPU ms/hook FHIR server | p50 x raw inference |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const l of e.levels) {
      const errs = l.errors ? `${l.errors} (${Object.entries(l.errorKinds).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '0';
      lines.push(
        `| ${l.concurrency} | ${f(l.latencyMs.p50)} | ${f(l.latencyMs.p95)} | ${f(l.latencyMs.p99)} | ${f(l.hooksPerSecond)} | ${l.completed} | ${errs} | ${f(l.servicePeakRssMb)} | ${f(l.serviceCpuMsPerHook)} | ${f(l.fhirCpuMsPerHook)} | ${ratio(l.latencyMs.p50, ref.msPerImage)} |`,
      );
    }
  }

  lines.push('', '#### Targets (issue 6)', '', '| target | this run | |', '| --- | --- | --- |');
  for (const t of checkTargets(run)) {
    lines.push(`| ${t.target} | ${t.value} | ${mark(t.met)} |`);
  }
  return lines.join('\n');
}

/** One line per run in the history table: what the numbers were, at which commit, on which machine. */
export function historyRow(run: BenchRun): string {
  const e2e = (model: string, c: number): E2eResult['levels'][number] | undefined => run.e2e.find((e) => e.model === model)?.levels.find((x) => x.concurrency === c);
  const fp32 = run.e2e.find((e) => e.model === 'fp32');
  const twoMp = run.stages.find((s) => s.size.label === '2 MP');
  const twelve = run.stages.find((s) => s.size.label === '12 MP');
  const int8 = run.inference.find((i) => i.model === 'int8' && i.threads === run.reference.threads && i.batch === 1);
  const cells = [
    run.startedAt.slice(0, 16).replace('T', ' '),
    `\`${run.machine.commit}\`${run.machine.dirty ? '+' : ''}`,
    `${run.machine.cores} x ${run.machine.cpuModel}`,
    f(run.reference.msPerImage),
    f(int8?.msPerImage),
    twoMp ? ratio(nonInferenceMs(twoMp), run.reference.msPerImage) : '-',
    twelve ? f(twelve.stages.decode.wall.p50 + twelve.stages.preprocess.wall.p50) : '-',
    `${f(e2e('fp32', 1)?.latencyMs.p50)} / ${f(e2e('fp32', 1)?.latencyMs.p99)}`,
    f(e2e('fp32', 16)?.hooksPerSecond),
    f(e2e('fp32', 16)?.latencyMs.p99),
    String(e2e('fp32', 16)?.errors ?? '-'),
    f(fp32?.servicePeakRssMb),
    `${f(e2e('int8', 16)?.hooksPerSecond)} / ${f(e2e('int8', 16)?.latencyMs.p99)}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

const LATEST_START = '<!-- bench:latest:start -->';
const LATEST_END = '<!-- bench:latest:end -->';
const HISTORY_END = '<!-- bench:history:end -->';

/** Replaces the latest-run section and appends a history row; both live between markers in the README. */
export async function updateReadme(path: string, run: BenchRun): Promise<void> {
  const text = await readFile(path, 'utf8');
  const a = text.indexOf(LATEST_START);
  const b = text.indexOf(LATEST_END);
  const h = text.indexOf(HISTORY_END);
  if (a < 0 || b < a || h < 0) {
    throw new Error(`${path} lacks the ${LATEST_START} / ${LATEST_END} / ${HISTORY_END} markers`);
  }
  let next = `${text.slice(0, a + LATEST_START.length)}\n${renderMarkdown(run)}\n${text.slice(b)}`;
  const h2 = next.indexOf(HISTORY_END);
  next = `${next.slice(0, h2)}${historyRow(run)}\n${next.slice(h2)}`;
  await writeFile(path, next);
}
