/**
 * A closed-loop load generator on loopback: `concurrency` clients, each sending its next hook as
 * soon as the last one answered, for a fixed time after a warm-up. Plain fetch (undici keeps the
 * connections alive), so the generator costs little CPU beside the service.
 */
import { randomUUID } from 'node:crypto';
import type { Summary } from './stats.ts';
import { summarise } from './stats.ts';

export interface LoadOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The request body for the i-th hook (a fresh hookInstance each time). */
  readonly body: (i: number, hookInstance: string) => unknown;
  /** Whether a 200 answer is a real triage answer (not a status card). */
  readonly isGoodAnswer: (text: string) => boolean;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly latencyMs: Summary;
  readonly hooksPerSecond: number;
  readonly completed: number;
  readonly errors: number;
  /** Error kinds and counts: `HTTP 503`, `bad answer`, `network: ...`. */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Every answered hook, warm-up included (for CPU per hook over the whole window). */
  readonly answeredIncludingWarmup: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  let i = 0;
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  let completed = 0;
  let answered = 0;
  let recording = false;
  let stopping = false;

  async function one(): Promise<void> {
    const body = JSON.stringify(opts.body(i++, randomUUID()));
    const t0 = performance.now();
    let kind: string | undefined;
    try {
      const res = await fetch(opts.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
      const text = await res.text();
      if (res.status !== 200) {
        kind = `HTTP ${res.status}`;
      } else if (!opts.isGoodAnswer(text)) {
        kind = 'bad answer';
      }
    } catch (err) {
      kind = `network: ${err instanceof Error ? err.message : String(err)}`;
    }
    const ms = performance.now() - t0;
    answered++;
    if (!recording) {
      return;
    }
    if (kind) {
      errors++;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    } else {
      completed++;
      latencies.push(ms);
    }
  }

  async function client(): Promise<void> {
    while (!stopping) {
      await one();
    }
  }

  const clients = Array.from({ length: opts.concurrency }, () => client());
  await sleep(opts.warmupMs);
  recording = true;
  const start = performance.now();
  await sleep(opts.durationMs);
  // Hooks in flight at the end still count: their latency is real, and dropping them would favour fast ones.
  stopping = true;
  await Promise.all(clients);
  const elapsedMs = performance.now() - start;
  return {
    concurrency: opts.concurrency,
    latencyMs: summarise(latencies),
    hooksPerSecond: completed / (elapsedMs / 1000),
    completed,
    errors,
    errorKinds,
    elapsedMs,
    answeredIncludingWarmup: answered,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
