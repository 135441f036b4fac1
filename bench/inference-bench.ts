/** Raw inference: preprocessed tensors in, model outputs out; the floor every other number is compared with. */
import { decodeDermoscopy } from '../src/imaging/decode.ts';
import { toModelInput } from '../src/imaging/preprocess.ts';
import { openModel } from '../src/model/session.ts';
import type { ModelVariant } from './model-variants.ts';
import type { Summary } from './stats.ts';
import { timeRuns } from './stats.ts';
import { syntheticDermoscopyJpeg } from './synthetic-images.ts';

export interface InferenceResult {
  readonly model: string;
  readonly threads: number;
  readonly batch: number;
  /** Per call (the whole batch). */
  readonly call: Summary;
  /** Median per-call time divided by the batch size. */
  readonly msPerImage: number;
  /** CPU time (all threads) per image. */
  readonly cpuMsPerImage: number;
}

export const BATCHES = [1, 4, 8] as const;

async function benchTensors(manifestPath: string, n: number): Promise<Float32Array[]> {
  const model = await openModel(manifestPath, { threads: 1, worker: false });
  try {
    return await Promise.all(
      Array.from({ length: n }, async (_, k) => (await toModelInput(await decodeDermoscopy(await syntheticDermoscopyJpeg(640, 480, 100 + k)), model.manifest.input)).tensor),
    );
  } finally {
    await model.close();
  }
}

/** ms/image at each batch size, for each variant and intra-op thread count. */
export async function benchInference(variants: readonly ModelVariant[], threadCounts: readonly number[], budgetMs: number): Promise<InferenceResult[]> {
  const results: InferenceResult[] = [];
  const tensors = await benchTensors(variants[0]?.manifest ?? '', Math.max(...BATCHES));
  for (const v of variants) {
    for (const threads of threadCounts) {
      // On the calling thread: the floor, without the worker's message passing.
      const model = await openModel(v.manifest, { threads, maxBatch: Math.max(...BATCHES), worker: false });
      try {
        for (const batch of BATCHES) {
          const inputs = tensors.slice(0, batch);
          const t = await timeRuns(() => model.infer(inputs), { warmup: 5, iterations: 200, budgetMs });
          results.push({ model: v.name, threads, batch, call: t.wall, msPerImage: t.wall.p50 / batch, cpuMsPerImage: t.cpuMsPerRun / batch });
        }
      } finally {
        await model.close();
      }
    }
  }
  return results;
}
