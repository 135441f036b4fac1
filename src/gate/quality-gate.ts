import type { GateConfig } from './gate-config.ts';
import { reasonText } from './gate-config.ts';
import type { GateReason } from './gate-reasons.ts';
import type { QualityMeasures } from './quality-measures.ts';
import { measureQuality, measureValue } from './quality-measures.ts';
import type { InputRaster } from '../imaging/preprocess.ts';

export interface QualityVerdict {
  /** False when any `reject` check failed. */
  readonly accepted: boolean;
  readonly rejections: readonly GateReason[];
  readonly warnings: readonly GateReason[];
}

/**
 * Applies the file's checks in file order. A measure that could not be taken (no lesion found)
 * fails nothing: the gate only speaks about what it measured. `off` checks are skipped.
 */
export function judgeQuality(measures: QualityMeasures, config: GateConfig): QualityVerdict {
  const rejections: GateReason[] = [];
  const warnings: GateReason[] = [];
  for (const check of config.checks) {
    const measured = measureValue(measures, check.measure);
    if (measured === null || check.action === 'off') {
      continue;
    }
    const failed = check.direction === 'min' ? measured < check.limit : measured > check.limit;
    if (!failed) {
      continue;
    }
    const reason: GateReason = { code: check.code, text: reasonText(config, check.code, measured, check.limit), measured, limit: check.limit };
    (check.action === 'reject' ? rejections : warnings).push(reason);
  }
  return { accepted: rejections.length === 0, rejections, warnings };
}

/** Measure and judge in one call: the raster from toModelInput, the original's upright size. */
export function checkImageQuality(raster: InputRaster, original: { readonly width: number; readonly height: number }, config: GateConfig): QualityVerdict & { readonly measures: QualityMeasures } {
  const measures = measureQuality(raster, Math.min(original.width, original.height), config.measure);
  return { ...judgeQuality(measures, config), measures };
}
