/**
 * `npm run bench`: raw inference, per-stage cost of one image at three sizes, and the hook end to
 * end over HTTP (service and FHIR server in their own processes). Prints a markdown report, writes
 * bench/results/<timestamp>.json and updates the tables in bench/README.md.
 *
 *   npm run bench                       everything (~3 minutes on 2 cores)
 *   npm run bench -- --quick            shorter timing windows (a smoke run)
 *   npm run bench -- --skip-e2e         inference and stages only
 *   npm run bench -- --only-e2e --levels 1,16 --duration 20000
 *   npm run bench -- --no-write         print only
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config.ts';
import { openModel } from '../src/model/session.ts';
import { startChildServer } from './child-process.ts';
import type { E2eResult } from './e2e-bench.ts';
import { CONCURRENCY_LEVELS, benchEndToEnd, seedBenchReferrals } from './e2e-bench.ts';
import type { InferenceResult } from './inference-bench.ts';
import { benchInference } from './inference-bench.ts';
import { describeMachine } from './machine.ts';
import { availableModelVariants } from './model-variants.ts';
import type { BenchRun } from './report.ts';
import { renderMarkdown, updateReadme } from './report.ts';
import type { StageResult } from './stage-bench.ts';
import { benchStages } from './stage-bench.ts';
import { BENCH_SIZES } from './synthetic-images.ts';

/** The service's session: openModel's default intra-op threads. */
const SERVICE_THREADS = 1;

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'skip-e2e': { type: 'boolean', default: false },
      'only-e2e': { type: 'boolean', default: false },
      levels: { type: 'string', default: CONCURRENCY_LEVELS.join(',') },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const budgetMs = quick ? 300 : 1200;
  const durationMs = Number(values.duration ?? (quick ? 3000 : 10_000));
  const warmupMs = Number(values.warmup ?? (quick ? 1000 : 2000));
  const levels = values.levels.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  log(`${machine.cores} x ${machine.cpuModel}, Node ${machine.node}, commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`);
  const variants = await availableModelVariants();
  log(`models: ${variants.map((v) => v.name).join(', ')}`);

  let inference: InferenceResult[] = [];
  if (!values['only-e2e']) {
    log('raw inference ...');
    inference = await benchInference(variants, [1, 2], budgetMs);
  }
  const refRow = inference.find((r) => r.model === 'fp32' && r.threads === SERVICE_THREADS && r.batch === 1);

  log('starting the FHIR server process ...');
  const fhir = await startChildServer('src/sandbox/fhir-server/main.ts');
  const stopOnSignal = (): void => {
    void fhir.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  let stages: StageResult[] = [];
  const e2e: E2eResult[] = [];
  let e2eWindow: BenchRun['e2eWindow'];
  try {
    if (!values['only-e2e']) {
      log('per-stage cost at 0.3, 2 and 12 MP ...');
      const fp32 = variants[0];
      const model = await openModel(fp32?.manifest ?? '', { threads: SERVICE_THREADS });
      try {
        stages = await benchStages(model, fhir.baseUrl, BENCH_SIZES, budgetMs);
      } finally {
        await model.close();
      }
    }
    if (!values['skip-e2e']) {
      log('seeding referrals (3 images of 2 MP each) ...');
      const seeded = await seedBenchReferrals(fhir.baseUrl);
      const start = new Date().toISOString();
      for (const v of variants) {
        log(`end to end, ${v.name}, concurrency ${levels.join(', ')}: ${warmupMs} ms warm-up + ${durationMs} ms each ...`);
        e2e.push(await benchEndToEnd({ fhir, model: v, warmupMs, durationMs, levels }, seeded));
      }
      e2eWindow = { start, end: new Date().toISOString() };
    }
  } finally {
    process.off('SIGINT', stopOnSignal);
    await fhir.stop();
  }

  const run: BenchRun = {
    startedAt,
    durationS: Math.round((Date.now() - t0) / 1000),
    machine,
    // Without an inference run (--only-e2e) ratios use the stage bench's own inference time.
    reference: { model: 'fp32', threads: SERVICE_THREADS, msPerImage: refRow?.msPerImage ?? stages[1]?.stages.inference.wall.p50 ?? Number.NaN },
    inference,
    stages,
    e2e,
    ...(e2eWindow ? { e2eWindow } : {}),
  };
  const markdown = renderMarkdown(run);
  process.stdout.write(`${markdown}\n`);
  if (!values['no-write']) {
    const dir = join(PROJECT_ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(run, null, 2)}\n`);
    await updateReadme(join(PROJECT_ROOT, 'bench/README.md'), run);
    log(`wrote ${file} and bench/README.md`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
