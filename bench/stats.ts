/** Sample statistics and a bounded timing loop: every number the suite prints comes from here. */

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function summarise(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export interface TimeOptions {
  /** Untimed runs first (JIT, caches, ORT arena). */
  readonly warmup: number;
  /** Stop after this many timed runs, */
  readonly iterations: number;
  /** or once this much time was spent timing, whichever comes first (at least 3 runs). */
  readonly budgetMs: number;
}

export const DEFAULT_TIME_OPTIONS: TimeOptions = { warmup: 3, iterations: 30, budgetMs: 3000 };

export interface Timing {
  readonly wall: Summary;
  /**
   * Process CPU time (all threads: main, libuv pool, libvips, ORT) per run, ms. Steadier than wall
   * time on a busy machine, and it shows work hidden in other threads.
   */
  readonly cpuMsPerRun: number;
}

/** Runs `fn` sequentially: wall-clock time of each run, and CPU time per run. */
export async function timeRuns(fn: () => unknown, opts: TimeOptions = DEFAULT_TIME_OPTIONS): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) {
    await fn();
  }
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (times.length < opts.iterations && (times.length < 3 || performance.now() - start < opts.budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: summarise(times), cpuMsPerRun: (cpu.user + cpu.system) / 1000 / times.length };
}

/** Rounds for printing and JSON: 2 decimals below 10, 1 below 1000, integers above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) {
    return x;
  }
  const a = Math.abs(x);
  return a < 10 ? Math.round(x * 100) / 100 : a < 1000 ? Math.round(x * 10) / 10 : Math.round(x);
}
