import type { LearnedHead, ModelManifest } from './manifest.ts';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** A learned head's class-activation map over one image's feature map [C, h, w]: w . F(y, x) + b. */
export function learnedHeadMap(head: LearnedHead, features: Float32Array, cells: number): Float32Array {
  const map = new Float32Array(cells).fill(head.bias);
  head.weights.forEach((w, c) => {
    const off = c * cells;
    for (let i = 0; i < cells; i++) {
      map[i] = (map[i] ?? 0) + w * (features[off + i] ?? 0);
    }
  });
  return map;
}

/** The calibrated probability of a learned head from its map: Platt over the logit, the map's spatial mean. */
export function learnedHeadProbability(head: LearnedHead, map: Float32Array): number {
  let sum = 0;
  for (const v of map) {
    sum += v;
  }
  const logit = sum / map.length;
  return sigmoid(head.calibration.slope * logit + head.calibration.intercept);
}

/** Spatial mean of each channel of one image's feature map [C, h, w]: the pooled features a head is fitted on. */
export function poolFeatures(features: Float32Array, channels: number): Float32Array {
  const cells = features.length / channels;
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let i = 0; i < cells; i++) {
      s += features[c * cells + i] ?? 0;
    }
    out[c] = s / cells;
  }
  return out;
}

/**
 * Writes each learned head's probability and map into one image's `patterns` and `cam` (channel =
 * pattern index + 1), so findings, rules, heatmaps and reports read a learned pattern exactly like a
 * shipped one. The BCC output and the shipped heads are untouched.
 */
export function applyLearnedHeads(manifest: ModelManifest, features: Float32Array, patterns: Float32Array, cam: Float32Array): void {
  const [, channels, height, width] = manifest.outputs.cam.shape;
  const cells = height * width;
  if (cam.length !== channels * cells) {
    throw new RangeError(`cam has ${cam.length} values, expected ${channels * cells}`);
  }
  manifest.patterns.forEach((p, j) => {
    if (!p.learned) {
      return;
    }
    const map = learnedHeadMap(p.learned, features, cells);
    cam.set(map, (j + 1) * cells);
    patterns[j] = learnedHeadProbability(p.learned, map);
  });
}

/** Whether the manifest has heads computed outside the graph (the session must then fetch `features`). */
export function hasLearnedHeads(manifest: ModelManifest): boolean {
  return manifest.patterns.some((p) => p.learned !== undefined);
}
