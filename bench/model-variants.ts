import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../src/config.ts';

export interface ModelVariant {
  /** `fp32` (the installed model), and `int8` or `1pass` when such manifests are installed (none ship with 1.5.0). */
  readonly name: string;
  readonly manifest: string;
}

/** Written by training/quantize.py; benchmarked when present (1.5.0's int8 was not shipped: training/README.md). */
export const INT8_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2-int8.json');
/** A single-pass sibling (no test-time flips), benchmarked when installed (1.4.0 was one; removed in 1.5.0). */
export const ONE_PASS_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2-1pass.json');

export async function availableModelVariants(): Promise<ModelVariant[]> {
  const variants: ModelVariant[] = [{ name: 'fp32', manifest: DEFAULT_MODEL_MANIFEST }];
  for (const [name, manifest] of [
    ['int8', INT8_MANIFEST],
    ['1pass', ONE_PASS_MANIFEST],
  ] as const) {
    try {
      await access(manifest);
      variants.push({ name, manifest });
    } catch {
      // Not shipped (e.g. no quantized model yet): benchmark what is there.
    }
  }
  return variants;
}
