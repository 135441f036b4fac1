/**
 * The candidate manifest of `npm run learn`: the installed (base) manifest with one pattern's head
 * learned. Same network (its sha256, `file` re-pointed from the output folder), next minor version,
 * the pattern trained with `head: "learned"`, its weights, Platt block and Youden threshold, and the
 * model card's learned-pattern section and limit line. Every other pattern, learned heads of the
 * base included, is kept as it was. Pure: the caller validates the result with parseManifest.
 */
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import type { ModelManifest, PatternSpec } from '../model/manifest.ts';
import type { Acceptance } from './acceptance.ts';
import type { LearnedHeadFacts, LearnedPatternCard } from './model-card.ts';
import { learnedPatternCard, learnedPatternLimit } from './model-card.ts';

export interface CandidateInput extends LearnedHeadFacts {
  readonly pattern: string;
  /** The base network file, relative to the folder the candidate is written to. */
  readonly file: string;
  readonly now: Date;
}

/** 1.5.1 -> 1.6.0. A learned head adds what the model assesses: a minor change. */
export function nextMinorVersion(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) {
    throw new OperationOutcomeError(badRequest(`base version "${version}" is not major.minor.patch; the candidate's version cannot be derived`, 'manifest.version'));
  }
  return `${Number(m[1])}.${Number(m[2]) + 1}.0`;
}

/** `2026-12-02T10:11:12Z`, as the shipped manifests write `created`. */
function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export function buildCandidateManifest(input: CandidateInput): ModelManifest {
  const { base, fit, now } = input;
  const version = nextMinorVersion(base.version);
  const at = isoSeconds(now);
  const index = base.patterns.findIndex((p) => p.id === input.pattern);
  const old = base.patterns[index];
  if (!old) {
    throw new OperationOutcomeError(badRequest(`pattern "${input.pattern}" is not in the base manifest`, 'pattern'));
  }
  const cvAuc = { value: fit.auc.value, ci95: [fit.auc.ci95[0], fit.auc.ci95[1]] };
  const learned = {
    weights: Array.from(fit.head.weights),
    bias: fit.head.bias,
    calibration: fit.calibration,
    fittedAt: at,
    annotators: input.annotators,
    images: input.positives + input.negatives,
    positives: input.positives,
    negatives: input.negatives,
    cvAuc,
  };
  const pattern: PatternSpec = {
    id: old.id,
    display: old.display,
    role: old.role,
    trained: true,
    threshold: fit.threshold.threshold,
    head: 'learned',
    learned,
    assessedSince: at.slice(0, 10),
  };
  const card: LearnedPatternCard = learnedPatternCard({ ...input, display: old.display, version, fittedAt: at });
  const learnedPatterns = { ...(base.modelCard.learnedPatterns as Record<string, unknown> | undefined), [old.id]: card };
  const patterns = base.patterns.map((p, j) => (j === index ? pattern : p));
  // A replaced head's limit line goes; a line naming what is not assessed is written anew from the
  // patterns (the base's would call the learned pattern "NOT assessed"); every other line stays.
  const limits = [
    ...base.modelCard.limits
      .filter((l) => !l.startsWith(`${old.display} (learned `))
      .map((l) => (/not assessed/i.test(l) ? assessedPatternsLimit(patterns) : l)),
    learnedPatternLimit(card),
  ];
  if (!limits.some((l) => l.startsWith(ASSESSED_PREFIX))) {
    limits.unshift(assessedPatternsLimit(patterns));
  }
  return {
    ...base,
    version,
    created: at,
    file: input.file,
    patterns,
    modelCard: { ...base.modelCard, limits, learnedPatterns },
  };
}

const ASSESSED_PREFIX = 'Patterns assessed by this version: ';

/** Which patterns this version assesses, and how, and which it does not: generated, so it cannot go stale. */
export function assessedPatternsLimit(patterns: readonly PatternSpec[]): string {
  const lower = (p: PatternSpec): string => p.display.toLowerCase();
  const assessed = patterns
    .filter((p) => p.trained)
    .map((p) => (p.learned ? `${lower(p)} (head learned from this hospital's annotations${p.assessedSince ? ` since ${p.assessedSince}` : ''})` : lower(p)));
  const not = patterns.filter((p) => !p.trained).map(lower);
  return `${ASSESSED_PREFIX}${assessed.join(', ') || 'none'}.${not.length ? ` NOT assessed (untrained; never shown as present or absent): ${not.join(', ')}.` : ''}`;
}

/** The top-level `learning` record: base version, pattern, acceptance.json's digest and decision. */
export function withLearningRecord(candidate: ModelManifest, record: { readonly from: string; readonly pattern: string; readonly acceptanceSha256: string; readonly acceptance: Pick<Acceptance, 'accepted'>; readonly createdAt: string }): ModelManifest {
  return {
    ...candidate,
    learning: {
      from: record.from,
      pattern: record.pattern,
      acceptanceSha256: record.acceptanceSha256,
      decision: record.acceptance.accepted ? 'accepted' : 'refused',
      createdAt: record.createdAt,
    },
  };
}
