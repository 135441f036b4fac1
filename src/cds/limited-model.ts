import type { BccModel, ModelOutputs } from '../model/session.ts';
import { createWorkQueue } from './overload.ts';
import type { WorkQueueStats } from './overload.ts';

/**
 * The model with at most `concurrency` inference runs at once, the rest queued in arrival order.
 * Inference runs in one worker thread (src/model/worker-runner.ts), so parallel runs would only
 * queue there and hold more batches in memory. The queue itself
 * is not bounded here: the hook queue in front of it bounds how many hooks can be waiting.
 */
export interface LimitedModel {
  readonly model: BccModel;
  /** Runs in the worker now and waiting for it (the /metrics gauges). */
  stats(): WorkQueueStats;
}

export function limitInference(model: BccModel, concurrency: number, opts: { readonly onRun?: (seconds: number) => void } = {}): LimitedModel {
  const queue = createWorkQueue({ concurrency, maxQueued: Number.POSITIVE_INFINITY, maxWaitMs: Number.POSITIVE_INFINITY });
  const timed = async (run: () => Promise<ModelOutputs[]>): Promise<ModelOutputs[]> => {
    const start = performance.now();
    try {
      return await run();
    } finally {
      opts.onRun?.((performance.now() - start) / 1000);
    }
  };
  // Every manifest view of the network shares one queue: they share one session.
  const limited = (m: BccModel): BccModel => ({
    manifest: m.manifest,
    cam: m.cam,
    infer: (images) => queue.run(() => timed(() => m.infer(images))),
    withManifest: (next) => limited(m.withManifest(next)),
    close: () => m.close(),
  });
  return { model: limited(model), stats: () => queue.stats() };
}
