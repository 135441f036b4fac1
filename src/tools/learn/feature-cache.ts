/**
 * Pooled features on disk, so a second `npm run learn` over the same images does not run the
 * network again. A folder per network (`<root>/<first 16 hex of the network sha256>/`), a file per
 * image named by the sha256 of its bytes and of the manifest's input block (size, resize, mean,
 * std, colour constancy: the same bytes preprocessed otherwise give other features), holding the
 * Float32 values little-endian. A file of the wrong length is a miss; writes go through a temporary
 * name and a rename, so a run killed mid-write leaves no half file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalDigest } from '../../common/canonical-json.ts';
import type { ModelManifest } from '../../model/manifest.ts';

export interface FeatureCache {
  readonly dir: string;
  get(imageSha256: string): Promise<Float32Array | undefined>;
  put(imageSha256: string, features: Float32Array): Promise<void>;
}

export function openFeatureCache(root: string, manifest: Pick<ModelManifest, 'sha256' | 'input'>, channels: number): FeatureCache {
  const dir = join(root, manifest.sha256.slice(0, 16));
  const input = canonicalDigest(manifest.input).slice(0, 12);
  const file = (sha: string): string => join(dir, `${sha}-${input}.f32`);
  let made = false;
  return {
    dir,
    async get(sha) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file(sha));
      } catch {
        return undefined;
      }
      if (bytes.length !== channels * 4) {
        return undefined;
      }
      const out = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        out[c] = bytes.readFloatLE(c * 4);
      }
      return out;
    },
    async put(sha, features) {
      if (!made) {
        await mkdir(dir, { recursive: true });
        made = true;
      }
      const bytes = Buffer.alloc(features.length * 4);
      features.forEach((v, c) => bytes.writeFloatLE(v, c * 4));
      const tmp = `${file(sha)}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file(sha));
    },
  };
}
