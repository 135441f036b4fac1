/**
 * The per-source view of issue #21: for each source a labels.csv names (and for all), whether the
 * image gate accepts its dermoscopic images and refuses its clinical photos (with the reasons), BCC
 * AUC and the triage operating point (taken from the BCC metrics), pattern detection on annotated
 * rows (at the shipped threshold and at >= 90% specificity) and the consistency of the explanations.
 * Pure; the CLI runs the model and the gate.
 */
import type { AucEstimate, Proportion } from '../../common/stats/confidence.ts';
import { wilson } from '../../common/stats/confidence.ts';
import { rocCurve } from '../../common/stats/roc.ts';
import type { ModelFindings } from '../../model/findings.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { BinaryLabel } from './labels.ts';
import { measureConsistency } from './consistency.ts';
import type { OperatingPoint } from './operating-point.ts';
import { atThreshold } from './operating-point.ts';

/** Issue #21's specificity floor for pattern detection. */
export const PATTERN_MIN_SPECIFICITY = 0.9;

/** What the image gate (quality checks and the model's modality/OOD checks) decided for one image. */
export interface GateOutcome {
  readonly accepted: boolean;
  /** Codes of the checks that refused it (empty when accepted). */
  readonly refusals: readonly string[];
}

export interface SourceImage {
  readonly source: string;
  readonly bcc: BinaryLabel | undefined;
  readonly patternLabels: Readonly<Record<string, BinaryLabel | undefined>>;
  readonly findings: ModelFindings;
  /** Absent when the run did not apply the gate. */
  readonly gate?: GateOutcome;
}

/** A clinical (non-dermoscopic) photo: the gate should refuse it. */
export interface ClinicalImage {
  readonly source: string;
  readonly gate: GateOutcome;
}

export interface GateTally {
  /** Accepted (dermoscopic images) or refused (clinical photos), k of n. */
  readonly rate: Proportion;
  /** Images refused per check (an image refused by two checks counts under both). */
  readonly refusals: Readonly<Record<string, number>>;
}

export interface PatternDetection {
  readonly n: number;
  readonly present: number;
  /** At the manifest's threshold: what the service reports. */
  readonly shipped: OperatingPoint;
  /** At the lowest threshold whose specificity is >= minSpecificity (null when a class is missing). */
  readonly atMinSpecificity: (OperatingPoint & { readonly minSpecificity: number }) | null;
}

export interface SourceSummary {
  readonly images: number;
  readonly bcc: number;
  readonly gate: {
    readonly dermoscopicAccepted: GateTally | null;
    /** Null when the folder has no clinical photos of this source. */
    readonly clinicalRefused: GateTally | null;
  };
  readonly bccAuc: AucEstimate | null;
  readonly triage: OperatingPoint | null;
  readonly patterns: Readonly<Record<string, PatternDetection>>;
  readonly consistency: {
    /** The BCC call's threshold (the manifest's balanced point, as in the overall consistency). */
    readonly threshold: number;
    /** Called BCC, with >= 1 BCC (positive-role) pattern present. */
    readonly predictedBccWithPositivePattern: Proportion;
    /** Pigment network (negative-role pattern) present, called non-BCC. */
    readonly pigmentNetworkPredictedNonBcc: Proportion;
  };
}

export interface PerSourceInput {
  readonly images: readonly SourceImage[];
  readonly clinical: readonly ClinicalImage[];
  readonly manifest: Pick<ModelManifest, 'patterns'>;
  /** The BCC call for consistency (calibrated scale, like the findings). */
  readonly consistencyThreshold: number;
  /** BCC AUC and operating points already measured per subset (`all` and each source). */
  readonly bcc: Readonly<Record<string, { readonly auc: AucEstimate; readonly thresholds: Readonly<Record<string, OperatingPoint>> }>>;
}

/**
 * Clinical photos of a source's lesions are listed as `<source>-clinical` in the data set's
 * clinical.csv; they belong to that source's row. Any other name is a row of its own.
 */
export function clinicalSourceOf(source: string): string {
  return source.replace(/-clinical$/, '');
}

export function tallyGate(outcomes: readonly GateOutcome[], count: 'accepted' | 'refused'): GateTally | null {
  if (!outcomes.length) {
    return null;
  }
  const refusals: Record<string, number> = {};
  for (const o of outcomes) {
    for (const code of new Set(o.refusals)) {
      refusals[code] = (refusals[code] ?? 0) + 1;
    }
  }
  const accepted = outcomes.filter((o) => o.accepted).length;
  return { rate: wilson(count === 'accepted' ? accepted : outcomes.length - accepted, outcomes.length), refusals };
}

/**
 * The operating point at the lowest threshold with specificity >= minSpecificity (predicted positive
 * when score >= t): the most sensitive point that keeps the false alarms within budget.
 */
export function atMinSpecificity(labels: readonly number[], scores: readonly number[], minSpecificity: number): (OperatingPoint & { readonly minSpecificity: number }) | null {
  const roc = rocCurve(labels, scores);
  let best: number | undefined;
  for (const p of roc) {
    // Points walk down the thresholds: fpr and tpr only grow, so the last point within budget is the most sensitive.
    if (1 - p.fpr >= minSpecificity - 1e-12) {
      best = p.threshold;
    }
  }
  if (best === undefined) {
    return null;
  }
  return { minSpecificity, ...atThreshold(labels, scores, best) };
}

function measurePattern(images: readonly SourceImage[], id: string, threshold: number): PatternDetection | undefined {
  const labels: number[] = [];
  const scores: number[] = [];
  for (const m of images) {
    const label = m.patternLabels[id];
    const score = m.findings.patterns.find((p) => p.id === id)?.probability;
    if (label !== undefined && score !== undefined && !Number.isNaN(score)) {
      labels.push(label);
      scores.push(score);
    }
  }
  if (!labels.length) {
    return undefined;
  }
  return {
    n: labels.length,
    present: labels.filter((y) => y === 1).length,
    shipped: atThreshold(labels, scores, threshold),
    atMinSpecificity: atMinSpecificity(labels, scores, PATTERN_MIN_SPECIFICITY),
  };
}

function summarise(name: string, images: readonly SourceImage[], clinical: readonly ClinicalImage[], input: PerSourceInput): SourceSummary {
  const gated = images.flatMap((m) => (m.gate ? [m.gate] : []));
  const patterns: Record<string, PatternDetection> = {};
  for (const p of input.manifest.patterns) {
    if (p.trained && p.threshold !== null) {
      const d = measurePattern(images, p.id, p.threshold);
      if (d) {
        patterns[p.id] = d;
      }
    }
  }
  const c = measureConsistency(
    images.map((m) => m.findings),
    input.consistencyThreshold,
  );
  const bcc = input.bcc[name];
  return {
    images: images.length,
    bcc: images.filter((m) => m.bcc === 1).length,
    gate: {
      dermoscopicAccepted: gated.length === images.length ? tallyGate(gated, 'accepted') : null,
      clinicalRefused: tallyGate(
        clinical.map((m) => m.gate),
        'refused',
      ),
    },
    bccAuc: bcc?.auc ?? null,
    triage: bcc?.thresholds.triage ?? null,
    patterns,
    consistency: { threshold: c.threshold, predictedBccWithPositivePattern: c.predictedBccWithPositivePattern, pigmentNetworkPredictedNonBcc: c.pigmentNetworkPredictedNonBcc },
  };
}

/** `all`, then one entry per source (dermoscopic or clinical) in alphabetical order. */
export function measurePerSource(input: PerSourceInput): Record<string, SourceSummary> {
  const sources = [...new Set([...input.images.map((m) => m.source), ...input.clinical.map((m) => clinicalSourceOf(m.source))])].sort();
  const out: Record<string, SourceSummary> = { all: summarise('all', input.images, input.clinical, input) };
  for (const s of sources) {
    out[s] = summarise(
      s,
      input.images.filter((m) => m.source === s),
      input.clinical.filter((m) => clinicalSourceOf(m.source) === s),
      input,
    );
  }
  return out;
}
