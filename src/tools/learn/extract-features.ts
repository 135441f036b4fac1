/**
 * Pooled features of the annotated images under the base network, decoded and preprocessed exactly
 * as the service does (imaging/decode, imaging/preprocess). The cache is asked first (by the sha256
 * of the file's bytes); only misses are decoded and run. An image that cannot be read or decoded is
 * reported with the reason, never fatal.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describeOutcome, OperationOutcomeError } from '../../common/outcomes.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';
import { decodeDermoscopy, DEFAULT_DECODE_LIMITS } from '../../imaging/decode.ts';
import { toModelInput } from '../../imaging/preprocess.ts';
import type { ScoredOutputs } from '../../learning/compare-outputs.ts';
import type { BccModel } from '../../model/session.ts';
import type { FeatureCache } from './feature-cache.ts';
import type { Progress } from './progress.ts';

export type ImageFeatures =
  | {
      readonly ok: true;
      readonly key: string;
      readonly path: string;
      readonly features: Float32Array;
      readonly cached: boolean;
      /** The installed model's outputs, when this run computed the features (not from the cache): acceptance reuses them. */
      readonly installed?: ScoredOutputs;
    }
  | { readonly ok: false; readonly key: string; readonly path: string; readonly error: string };

/** Decoded and preprocessed as analysis/ does for a hook; throws the decoder's OperationOutcomeError. */
export async function loadModelInput(model: BccModel, bytes: Buffer, where: string): Promise<Float32Array> {
  const image = await decodeDermoscopy(bytes, DEFAULT_DECODE_LIMITS, where);
  return (await toModelInput(image, model.manifest.input, where)).tensor;
}

function reason(err: unknown): string {
  return err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : err instanceof Error ? err.message : String(err);
}

export interface ExtractDeps {
  readonly model: BccModel;
  readonly cache: FeatureCache;
  readonly progress: Progress;
  readonly concurrency: number;
}

export async function extractFeatures(deps: ExtractDeps, images: readonly { readonly key: string; readonly path: string }[]): Promise<ImageFeatures[]> {
  let done = 0;
  let cached = 0;
  const out = await mapConcurrent(images, deps.concurrency, async ({ key, path }): Promise<ImageFeatures> => {
    try {
      const bytes = await readFile(path);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const hit = await deps.cache.get(sha);
      if (hit) {
        cached++;
        return { ok: true, key, path, features: hit, cached: true };
      }
      let tensor: Float32Array;
      try {
        tensor = await loadModelInput(deps.model, bytes, key);
      } catch (err) {
        return { ok: false, key, path, error: reason(err) };
      }
      const [r] = await deps.model.infer([tensor]);
      if (!r?.pooledFeatures) {
        throw new Error('the model returned no pooled features');
      }
      await deps.cache.put(sha, r.pooledFeatures);
      return { ok: true, key, path, features: r.pooledFeatures, cached: false, installed: { bcc: r.bcc, patterns: r.patterns } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== undefined) {
        return { ok: false, key, path, error: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? ''}` };
      }
      throw err;
    } finally {
      deps.progress.tick(++done, `cached ${cached}`);
    }
  });
  deps.progress.end();
  return out;
}
