/** Seeded synthetic feature rows for the learning tests. */
import { mulberry32 } from '../../src/common/stats/random.ts';

/** A standard normal sampler (Box-Muller) over mulberry32. */
export function normal(seed: number): () => number {
  const u = mulberry32(seed);
  return (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

export interface Synthetic {
  readonly rows: Float32Array[];
  readonly labels: number[];
  readonly groups: string[];
}

/**
 * `positives` + `negatives` rows of `d` features with per-feature offsets and scales (so
 * standardisation matters); positives are shifted by `shift` along `direction` (all zero: noise).
 * Rows come in groups of `perGroup` sharing a label, as images of one lesion do.
 */
export function synthetic(options: {
  readonly seed: number;
  readonly d: number;
  readonly positives: number;
  readonly negatives: number;
  readonly direction: readonly number[];
  readonly shift: number;
  readonly perGroup?: number;
}): Synthetic {
  const z = normal(options.seed);
  const offsets = Array.from({ length: options.d }, (_, j) => 3 * Math.sin(j + 1));
  const scales = Array.from({ length: options.d }, (_, j) => 0.5 + (j % 7));
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  const groups: string[] = [];
  const perGroup = options.perGroup ?? 1;
  const add = (label: number, count: number): void => {
    for (let i = 0; i < count; i++) {
      const row = new Float32Array(options.d);
      for (let j = 0; j < options.d; j++) {
        const signal = label === 1 ? options.shift * (options.direction[j] ?? 0) : 0;
        row[j] = offsets[j]! + scales[j]! * (z() + signal);
      }
      rows.push(row);
      labels.push(label);
      groups.push(`${label === 1 ? 'p' : 'n'}${Math.floor(i / perGroup)}`);
    }
  };
  add(1, options.positives);
  add(0, options.negatives);
  return { rows, labels, groups };
}
