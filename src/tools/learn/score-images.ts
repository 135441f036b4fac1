/**
 * The installed model and the candidate on the same annotated images, for acceptance: the candidate
 * (a withManifest view of the same session) runs every image; the installed model's outputs are
 * those the feature pass computed, and only images whose features came from the cache run it again.
 * One image per call on both sides, so any difference in the BCC output comes from the manifest, not
 * from batching.
 */
import { readFile } from 'node:fs/promises';
import { mapConcurrent } from '../../common/map-concurrent.ts';
import type { ScoredOutputs } from '../../learning/compare-outputs.ts';
import type { BccModel } from '../../model/session.ts';
import { loadModelInput } from './extract-features.ts';
import type { Progress } from './progress.ts';

export interface ScoredPair {
  readonly before: ScoredOutputs;
  readonly after: ScoredOutputs;
}

export async function scoreBoth(
  deps: { readonly installed: BccModel; readonly candidate: BccModel; readonly progress: Progress; readonly concurrency: number },
  images: readonly { readonly key: string; readonly path: string; readonly installed?: ScoredOutputs }[],
): Promise<ScoredPair[]> {
  let done = 0;
  const out = await mapConcurrent(images, deps.concurrency, async ({ key, path, installed }): Promise<ScoredPair> => {
    // These images were decoded for their features (or their cached features were): a failure now is not the image's fault.
    const tensor = await loadModelInput(deps.installed, await readFile(path), key);
    const before = installed ?? (await deps.installed.infer([tensor]))[0];
    const [after] = await deps.candidate.infer([tensor]);
    deps.progress.tick(++done, '');
    if (!before || !after) {
      throw new Error(`no output for ${key}`);
    }
    return { before: { bcc: before.bcc, patterns: before.patterns }, after: { bcc: after.bcc, patterns: after.patterns } };
  });
  deps.progress.end();
  return out;
}
