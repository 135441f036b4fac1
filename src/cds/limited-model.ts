import type { BccModel } from '../model/session.ts';
import { createWorkQueue } from './overload.ts';

/**
 * The model with at most `concurrency` inference runs at once, the rest queued in arrival order.
 * Each run already uses the session's intra-op threads (2 by default, the target machine's cores),
 * so parallel runs would only contend for them and hold more batches in memory. The queue itself
 * is not bounded here: the hook queue in front of it bounds how many hooks can be waiting.
 */
export function limitInference(model: BccModel, concurrency: number): BccModel {
  const queue = createWorkQueue({ concurrency, maxQueued: Number.POSITIVE_INFINITY, maxWaitMs: Number.POSITIVE_INFINITY });
  return {
    manifest: model.manifest,
    cam: model.cam,
    infer: (images) => queue.run(() => model.infer(images)),
    close: () => model.close(),
  };
}
