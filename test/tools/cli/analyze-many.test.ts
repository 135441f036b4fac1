/**
 * `npm run analyze` over a few thousand images in one call. It used to start them all at once, and
 * from about 500 paths it died with SIGSEGV (exit 139) before reading any: ONNX Runtime's telemetry
 * runs a recursive regex over the process command line. Every image must now be reported, in
 * argument order, and the process must end with the exit code it documents. The bound on images in
 * flight is counted on analyzeImages below (a process's peak cannot be observed from outside).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_ANALYSIS_CONCURRENCY, analyzeImages } from '../../../src/analysis/analyze-images.ts';
import { mapConcurrent } from '../../../src/common/map-concurrent.ts';
import { DEFAULT_MODEL_MANIFEST, DEFAULT_RULES, PROJECT_ROOT } from '../../../src/config.ts';
import type { BccModel } from '../../../src/model/session.ts';
import { openModel } from '../../../src/model/session.ts';
import type { RuleSet } from '../../../src/rules/rule-set.ts';
import { loadRuleSet } from '../../../src/rules/rule-set.ts';
import { lesionJpeg } from '../../helpers/images.ts';

/** Below the quality gate's 128-px minimum: refused before the model, so thousands stay quick. */
const SMALL = 2400;
/** Large enough for the quality gate: these go through the model (whose own gate may refuse them). */
const SCORED = 96;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function analyze(args: readonly string[]): Promise<Run> {
  // Without the variable the CLI sets itself: the run must not depend on the caller's environment.
  const env = { ...process.env };
  delete env.ORT_DISABLE_TELEMETRY;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/tools/cli/analyze.ts', ...args],
      { cwd: PROJECT_ROOT, env, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      },
    );
  });
}

interface ReportedImage {
  readonly image: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly rejected?: { readonly stage: string; readonly reasons: readonly { readonly code: string }[] };
}

describe('analyze CLI over a few thousand images', () => {
  let dir: string;
  const small: string[] = [];
  const scored: string[] = [];
  let broken: string;
  let missing: string;
  let args: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-analyze-many-'));
    const smallJpegs = await Promise.all([1, 2, 3, 4].map((seed) => lesionJpeg(64, 64, seed)));
    const scoredJpegs = await Promise.all([5, 6, 7].map((seed) => lesionJpeg(160, 128, seed)));
    for (let k = 0; k < SMALL; k++) {
      small.push(join(dir, `small-${String(k).padStart(4, '0')}.jpg`));
    }
    for (let k = 0; k < SCORED; k++) {
      scored.push(join(dir, `scored-${String(k).padStart(3, '0')}.jpg`));
    }
    await mapConcurrent(small, 16, (p, k) => writeFile(p, smallJpegs[k % smallJpegs.length]!));
    await mapConcurrent(scored, 16, (p, k) => writeFile(p, scoredJpegs[k % scoredJpegs.length]!));
    broken = join(dir, 'broken.jpg');
    await writeFile(broken, Buffer.from('this is not a jpeg'));
    missing = join(dir, 'missing.jpg');
    // Interleaved, so argument order is not file-kind order.
    args = [];
    for (let k = 0; k < SMALL; k++) {
      args.push(small[k]!);
      if (k % 25 === 0 && scored[k / 25]) {
        args.push(scored[k / 25]!);
      }
    }
    args.splice(1000, 0, broken, missing);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports every image in argument order and exits 1 (some refused), not by a signal', async () => {
    assert.equal(args.length, SMALL + SCORED + 2);
    const run = await analyze([...args, '--no-heatmaps']);
    assert.equal(run.signal, null, `killed by ${run.signal}; stderr: ${run.stderr.slice(-2000)}`);
    assert.equal(run.code, 1, `exit 1: some images were not assessed; stderr: ${run.stderr.slice(-2000)}`);
    const report = JSON.parse(run.stdout) as { images: ReportedImage[] };
    assert.equal(report.images.length, args.length, 'one entry per path');
    assert.deepEqual(
      report.images.map((i) => i.image),
      args,
      'in argument order',
    );
    const byPath = new Map(report.images.map((i) => [i.image, i]));
    for (const p of small) {
      const r = byPath.get(p)!;
      assert.equal(r.ok, false, p);
      assert.equal(r.rejected?.stage, 'quality', p);
      assert.ok(r.rejected.reasons.some((x) => x.code === 'low-resolution'), p);
    }
    for (const p of scored) {
      const r = byPath.get(p)!;
      // The model ran on it: scored, or refused by the model's own gate, never by the quality gate.
      assert.ok(r.ok || r.rejected?.stage === 'model', `${p}: ${JSON.stringify(r).slice(0, 300)}`);
    }
    assert.match(byPath.get(broken)!.error ?? '', /image is unreadable/);
    assert.match(byPath.get(missing)!.error ?? '', /cannot read file: ENOENT/);
  });

  it('exits 2 with usage for a --concurrency that is not an integer >= 1', async () => {
    for (const bad of ['0', '1.5']) {
      const run = await analyze([small[0]!, `--concurrency=${bad}`]);
      assert.equal(run.code, 2, bad);
      assert.match(run.stderr, /--concurrency must be an integer >= 1/);
      assert.match(run.stderr, /usage: npm run analyze/);
    }
  });
});

describe('analyzeImages bounds the images in flight', () => {
  let model: BccModel;
  let rules: RuleSet;
  let inputs: { id: string; bytes: Buffer }[];
  before(async () => {
    [model, rules] = await Promise.all([openModel(DEFAULT_MODEL_MANIFEST), loadRuleSet(DEFAULT_RULES)]);
    inputs = await Promise.all(Array.from({ length: 30 }, async (_, k) => ({ id: `img-${k}`, bytes: await lesionJpeg(96, 72, k + 1) })));
  });
  after(async () => {
    await model.close();
  });

  /** The model, counting the calls waiting on it; each call lingers a few turns so they pile up if unbounded. */
  function counting(): { model: BccModel; peak: () => number; calls: () => number } {
    let inFlight = 0;
    let peak = 0;
    let calls = 0;
    return {
      model: {
        ...model,
        infer: async (x) => {
          calls++;
          inFlight++;
          peak = Math.max(peak, inFlight);
          try {
            for (let turn = 0; turn < 5; turn++) {
              await new Promise((r) => setImmediate(r));
            }
            return await model.infer(x);
          } finally {
            inFlight--;
          }
        },
        close: () => Promise.resolve(),
      },
      peak: () => peak,
      calls: () => calls,
    };
  }

  it('never has more than `concurrency` images at the model, and answers the same as one at a time', async () => {
    const one = counting();
    const serial = await analyzeImages({ model: one.model, rules, concurrency: 1 }, inputs);
    assert.equal(one.peak(), 1);
    for (const limit of [3, undefined]) {
      const c = counting();
      const results = await analyzeImages({ model: c.model, rules, ...(limit === undefined ? {} : { concurrency: limit }) }, inputs);
      assert.equal(c.calls(), inputs.length, 'every image went to the model');
      assert.ok(c.peak() >= 1 && c.peak() <= (limit ?? DEFAULT_ANALYSIS_CONCURRENCY), `peak ${c.peak()} with limit ${limit ?? DEFAULT_ANALYSIS_CONCURRENCY}`);
      assert.deepEqual(results, serial, `same answers, same order, with limit ${limit ?? 'default'}`);
    }
  });

  it('refuses a concurrency that is not an integer >= 1', async () => {
    await assert.rejects(analyzeImages({ model, rules, concurrency: 0 }, inputs.slice(0, 1)), RangeError);
  });
});
