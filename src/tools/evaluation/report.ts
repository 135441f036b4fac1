/**
 * Assembles the evaluation from per-image predictions and labels: BCC discrimination, operating
 * points and calibration for all images and per source, pattern heads on their annotated rows,
 * consistency of the two explanations, and heatmap localisation. Pure; the CLI gathers the inputs.
 */
import type { ModelFindings } from '../../model/findings.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { ClinicalImage, GateOutcome, SourceSummary } from './per-source.ts';
import { measurePerSource } from './per-source.ts';
import type { Calibration } from './calibration.ts';
import { measureCalibration } from './calibration.ts';
import type { AucEstimate } from '../../common/stats/confidence.ts';
import { bootstrapAuc } from '../../common/stats/confidence.ts';
import type { ConsistencyRates } from './consistency.ts';
import { measureConsistency } from './consistency.ts';
import { operatingPoints } from '../../model/calibration.ts';
import type { BinaryLabel } from './labels.ts';
import type { ImageLocalisation, LocalisationSummary } from './localisation.ts';
import { summariseLocalisation } from './localisation.ts';
import type { OperatingPoint } from './operating-point.ts';
import { atThreshold } from './operating-point.ts';
import type { RocPoint } from '../../common/stats/roc.ts';
import { rocCurve } from '../../common/stats/roc.ts';

/** One analysed image with what the labels say about it. */
export interface EvaluatedImage {
  readonly image: string;
  readonly group: string;
  readonly source: string;
  readonly bcc: BinaryLabel | undefined;
  readonly patternLabels: Readonly<Record<string, BinaryLabel | undefined>>;
  readonly findings: ModelFindings;
  /** What the image gate decided (absent when the run did not apply it). */
  readonly gate?: GateOutcome;
}

export interface BccMetrics {
  readonly auc: AucEstimate;
  /** One operating point per manifest threshold (triage, balanced, specific, ...). */
  readonly thresholds: Readonly<Record<string, OperatingPoint>>;
  /** Of the probability the service reports (calibrated when the manifest has a calibration). */
  readonly calibration: Calibration;
  /** Of the network's raw output, for the before/after comparison. */
  readonly calibrationRaw: Calibration;
  readonly roc: readonly RocPoint[];
}

export interface PatternMetrics extends OperatingPoint {
  readonly auc: AucEstimate;
}

export interface SkippedImage {
  readonly image: string;
  readonly reason: string;
}

export interface HeatmapMetrics {
  readonly bccWithMask: LocalisationSummary & { readonly skipped: readonly SkippedImage[] };
}

export interface EvaluationMetrics {
  /** `all`, then one entry per source in alphabetical order. */
  readonly bcc: Readonly<Record<string, BccMetrics>>;
  /** Trained patterns only: an untrained head has nothing to evaluate. */
  readonly patterns: Readonly<Record<string, PatternMetrics>>;
  readonly consistency: ConsistencyRates & { readonly operatingPoint: 'balanced' };
  readonly heatmap: HeatmapMetrics;
  /** Issue #21's per-source table: `all`, then each source (dermoscopic images and clinical photos). */
  readonly perSource: Readonly<Record<string, SourceSummary>>;
}

export interface MetricsInput {
  readonly images: readonly EvaluatedImage[];
  readonly manifest: ModelManifest;
  /** Per-image localisation of BCC images with masks, and those that could not be measured. */
  readonly localisation: readonly ImageLocalisation[];
  readonly localisationSkipped: readonly SkippedImage[];
  /** Clinical (non-dermoscopic) photos run through the gate, when the folder has them. */
  readonly clinical?: readonly ClinicalImage[];
  readonly bootstrap: { readonly resamples: number; readonly seed: number };
}

interface Labelled {
  readonly labels: number[];
  readonly scores: number[];
  readonly groups: string[];
}

function collect(images: readonly EvaluatedImage[], pick: (m: EvaluatedImage) => { label: BinaryLabel | undefined; score: number | undefined }): Labelled {
  const out: Labelled = { labels: [], scores: [], groups: [] };
  for (const m of images) {
    const { label, score } = pick(m);
    if (label !== undefined && score !== undefined && !Number.isNaN(score)) {
      out.labels.push(label);
      out.scores.push(score);
      out.groups.push(m.group);
    }
  }
  return out;
}

function measureBcc(images: readonly EvaluatedImage[], manifest: ModelManifest, bootstrap: MetricsInput['bootstrap']): BccMetrics {
  const d = collect(images, (m) => ({ label: m.bcc, score: m.findings.bccProbability }));
  const thresholds: Record<string, OperatingPoint> = {};
  // The scores are calibrated probabilities, so the operating points must be on the same scale.
  for (const [name, t] of Object.entries(operatingPoints(manifest))) {
    thresholds[name] = atThreshold(d.labels, d.scores, t);
  }
  const raw = collect(images, (m) => ({ label: m.bcc, score: m.findings.bccScore }));
  return {
    auc: bootstrapAuc(d.labels, d.scores, d.groups, bootstrap),
    thresholds,
    calibration: measureCalibration(d.labels, d.scores),
    calibrationRaw: measureCalibration(raw.labels, raw.scores),
    roc: rocCurve(d.labels, d.scores),
  };
}

function measurePattern(images: readonly EvaluatedImage[], id: string, threshold: number, bootstrap: MetricsInput['bootstrap']): PatternMetrics {
  const d = collect(images, (m) => ({
    label: m.patternLabels[id],
    score: m.findings.patterns.find((p) => p.id === id)?.probability,
  }));
  return { auc: bootstrapAuc(d.labels, d.scores, d.groups, bootstrap), ...atThreshold(d.labels, d.scores, threshold) };
}

export function measureEvaluation(input: MetricsInput): EvaluationMetrics {
  const { images, manifest, bootstrap } = input;
  const sources = [...new Set(images.map((m) => m.source))].sort();
  const bcc: Record<string, BccMetrics> = { all: measureBcc(images, manifest, bootstrap) };
  for (const s of sources) {
    bcc[s] = measureBcc(
      images.filter((m) => m.source === s),
      manifest,
      bootstrap,
    );
  }
  const patterns: Record<string, PatternMetrics> = {};
  for (const p of manifest.patterns) {
    if (p.trained && p.threshold !== null) {
      patterns[p.id] = measurePattern(images, p.id, p.threshold, bootstrap);
    }
  }
  const balanced = operatingPoints(manifest).balanced ?? manifest.thresholds.balanced;
  return {
    bcc,
    patterns,
    consistency: {
      operatingPoint: 'balanced',
      ...measureConsistency(
        images.map((m) => m.findings),
        balanced,
      ),
    },
    heatmap: { bccWithMask: { ...summariseLocalisation(input.localisation), skipped: input.localisationSkipped } },
    perSource: measurePerSource({ images, clinical: input.clinical ?? [], manifest, consistencyThreshold: balanced, bcc }),
  };
}
