import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../src/config.ts';

export interface ModelVariant {
  /** `fp32` or `int8`. */
  readonly name: string;
  readonly manifest: string;
}

/** Written by training/quantize.py; benchmarked when present. */
export const INT8_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2-int8.json');

export async function availableModelVariants(): Promise<ModelVariant[]> {
  const variants: ModelVariant[] = [{ name: 'fp32', manifest: DEFAULT_MODEL_MANIFEST }];
  try {
    await access(INT8_MANIFEST);
    variants.push({ name: 'int8', manifest: INT8_MANIFEST });
  } catch {
    // No quantized model yet: fp32 only.
  }
  return variants;
}
