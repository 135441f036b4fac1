/**
 * `npm run learn`, step by step, returning the documents to write: consensus of the pattern ->
 * image files -> pooled features (cached) -> grouped CV, Platt, Youden, final head -> candidate
 * manifest -> installed vs candidate on the annotated images -> acceptance -> the candidate with its
 * acceptance digest and model card. The CLI (src/tools/cli/learn.ts) reads the flags, opens the
 * model and writes what this returns.
 */
import { relative, resolve, dirname } from 'node:path';
import { canonicalDigest } from '../../common/canonical-json.ts';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { countReasons, decideAcceptance } from '../../learning/acceptance.ts';
import { buildCandidateManifest, withLearningRecord } from '../../learning/candidate-manifest.ts';
import { compareOutputs } from '../../learning/compare-outputs.ts';
import type { PatternHeadFit } from '../../learning/fit-pattern-head.ts';
import { fitPatternHead } from '../../learning/fit-pattern-head.ts';
import { UNCERTAIN_RANGE, formatModelCardMarkdown } from '../../learning/model-card.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import { parseManifest } from '../../model/manifest.ts';
import type { BccModel } from '../../model/session.ts';
import { mapConcurrent } from '../../common/map-concurrent.ts';
import type { AnnotationSheetText } from './annotation-source.ts';
import { extractFeatures } from './extract-features.ts';
import type { FeatureCache } from './feature-cache.ts';
import type { ImageGroups } from './groups-file.ts';
import { findImageFile } from './image-files.ts';
import type { LearnOptions } from './learn-options.ts';
import { patternConsensus } from './pattern-consensus.ts';
import type { Progress } from './progress.ts';
import { scoreBoth } from './score-images.ts';

export interface LearnDeps {
  readonly model: BccModel;
  readonly cache: FeatureCache;
  readonly progress: (label: string, total: number) => Progress;
  readonly now: Date;
  readonly concurrency: number;
}

export interface LearnResult {
  readonly accepted: boolean;
  /** File name in --out -> contents. */
  readonly files: Readonly<Record<string, string>>;
  readonly summary: string;
}

/** Exit 2 before any work: the pattern must be in the base manifest and, without --replace, not assessed yet. */
export function checkPattern(base: ModelManifest, id: string, replace: boolean): void {
  const p = base.patterns.find((q) => q.id === id);
  if (!p) {
    throw new OperationOutcomeError(badRequest(`unknown pattern "${id}": the base model ${base.version} has ${base.patterns.map((q) => q.id).join(', ')}`, '--pattern'));
  }
  if (p.trained && !replace) {
    throw new OperationOutcomeError(
      badRequest(`the base model ${base.version} already assesses "${id}" (${p.head ?? 'texture'} head); pass --replace to learn a head in its place`, '--pattern'),
    );
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export async function runLearn(deps: LearnDeps, opts: LearnOptions, sheet: AnnotationSheetText, groups: ImageGroups): Promise<LearnResult> {
  const base = deps.model.manifest;
  checkPattern(base, opts.pattern, opts.replace);
  const consensus = patternConsensus(sheet.text, ['bcc', ...base.patterns.map((p) => p.id)], opts.pattern, sheet.source);
  const consensusDoc = {
    pattern: opts.pattern,
    annotations: sheet.source,
    status: consensus.status,
    method: 'Dawid-Skene EM (add-one smoothing); label = posterior >= 0.5; images in the uncertain band are kept with that label and counted',
    prior: consensus.prior,
    fleissKappa: consensus.fleissKappa,
    uncertain: { range: UNCERTAIN_RANGE, images: consensus.uncertain },
    annotators: consensus.annotators,
    notes: consensus.notes,
    images: consensus.images.map((image, i) => ({ image, posterior: consensus.posteriors[i], label: consensus.labels[i] })),
  };

  const files = await mapConcurrent(consensus.images, 8, (key) => findImageFile(opts.images, key));
  const found = files.flatMap((f) => (f.path === null ? [] : [{ key: f.key, path: f.path }]));
  const missing = files.flatMap((f) => (f.path === null ? [{ image: f.key, reason: f.reason }] : []));
  if (found.length === 0) {
    throw new OperationOutcomeError(badRequest(`none of the ${files.length} annotated images is under ${opts.images} (first key: "${files[0]?.key ?? ''}")`, '--images'));
  }
  const features = await extractFeatures({ model: deps.model, cache: deps.cache, progress: deps.progress('features', found.length), concurrency: deps.concurrency }, found);
  const usable = features.flatMap((f) => (f.ok ? [f] : []));
  const unreadable = features.flatMap((f) => (f.ok ? [] : [{ image: f.key, error: f.error }]));
  const labelOf = new Map(consensus.images.map((k, i) => [k, consensus.labels[i]!]));
  const labels = usable.map((f) => labelOf.get(f.key)!);
  const groupIds = usable.map((f) => groups.groupOf.get(f.key) ?? `image:${f.key}`);
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  const report = {
    pattern: opts.pattern,
    base: { name: base.name, version: base.version, manifest: opts.base, sha256: base.sha256 },
    annotations: sheet.source,
    images: { annotated: consensus.images.length, missing, unreadable, used: usable.length, positives, negatives },
    consensus: { status: consensus.status, uncertain: consensus.uncertain, annotators: consensus.annotators },
    features: { images: features.length, cached: usable.filter((f) => f.cached).length, extracted: usable.filter((f) => !f.cached).length, cache: deps.cache.dir },
    groups: { source: groups.source, file: groups.path, count: new Set(groupIds).size },
    cv: { folds: opts.folds, seed: opts.seed },
  };

  let fit: PatternHeadFit;
  try {
    fit = fitPatternHead(usable.map((f) => f.features), labels, groupIds, { folds: opts.folds, seed: opts.seed });
  } catch (err) {
    if (!(err instanceof RangeError)) {
      throw err;
    }
    // Nothing to fit (a class missing or too few groups for the folds): refused, no candidate.
    const reasons = [...countReasons(positives, negatives), { code: 'cannot-fit', message: `no head could be fitted: ${err.message}` }];
    const acceptance = { accepted: false, decision: 'refused', fitted: false, pattern: opts.pattern, reasons, positives, negatives, createdAt: deps.now.toISOString() };
    return {
      accepted: false,
      files: { 'consensus.json': json(consensusDoc), 'acceptance.json': json(acceptance), 'learn-report.json': json({ ...report, decision: 'refused', reasons }) },
      summary: `refused: ${reasons.map((r) => r.message).join('; ')}`,
    };
  }

  const outFile = relative(opts.out, resolve(dirname(opts.base), base.file));
  const draft = parseManifest(
    buildCandidateManifest({
      base,
      pattern: opts.pattern,
      file: outFile,
      fit,
      annotators: consensus.annotators,
      positives,
      negatives,
      uncertain: consensus.uncertain,
      folds: opts.folds,
      groups: report.groups,
      now: deps.now,
    }),
    'candidate manifest',
  );
  const view = deps.model.withManifest(draft);
  const scored = await scoreBoth({ installed: deps.model, candidate: view, progress: deps.progress('installed vs candidate', usable.length), concurrency: deps.concurrency }, usable);
  const cmp = compareOutputs(base, draft, scored.map((s) => s.before), scored.map((s) => s.after));
  const decided = decideAcceptance({
    labels,
    auc: fit.auc,
    installedBcc: cmp.installedBcc,
    candidateBcc: cmp.candidateBcc,
    bccThreshold: cmp.bccThreshold,
    bccPatternBefore: cmp.bccPatternBefore,
    bccPatternAfter: cmp.bccPatternAfter,
  });
  const createdAt = deps.now.toISOString();
  const acceptance = {
    ...decided,
    decision: decided.accepted ? 'accepted' : 'refused',
    fitted: true,
    pattern: opts.pattern,
    base: { name: base.name, version: base.version, sha256: base.sha256 },
    candidate: { version: draft.version },
    cv: { folds: opts.folds, seed: opts.seed, groups: report.groups, threshold: fit.threshold },
    bccOutputs: { ...decided.bccOutputs, maxAbsDifference: cmp.maxAbsDifference, compares: 'calibrated BCC probability, exact equality' },
    consistency: { ...decided.consistency, operatingPoint: cmp.operatingPoint, definition: 'share of images called BCC (calibrated probability >= the triage operating point) with at least one present positive-role pattern' },
    createdAt,
  };
  const acceptanceSha256 = canonicalDigest(acceptance);
  const candidate = parseManifest(withLearningRecord(draft, { from: base.version, pattern: opts.pattern, acceptanceSha256, acceptance: decided, createdAt }), 'candidate manifest');
  const manifestName = `${base.name}-${candidate.version}.json`;
  const a = fit.auc;
  return {
    accepted: decided.accepted,
    files: {
      'consensus.json': json(consensusDoc),
      'acceptance.json': json(acceptance),
      [manifestName]: json(candidate),
      'model-card.md': formatModelCardMarkdown(candidate),
      'learn-report.json': json({ ...report, candidate: { manifest: manifestName, version: candidate.version }, fit: { auc: a, threshold: fit.threshold, calibration: fit.calibration, converged: fit.head.converged, iterations: fit.head.iterations }, decision: acceptance.decision, reasons: decided.reasons, acceptanceSha256 }),
    },
    summary: [
      `${opts.pattern}: ${usable.length} images (${positives} present, ${negatives} absent; ${consensus.uncertain} uncertain consensus), ${missing.length} missing, ${unreadable.length} unreadable`,
      `features: cached ${report.features.cached}, extracted ${report.features.extracted}`,
      `out-of-fold AUC ${a.value.toFixed(3)} (95% CI ${a.ci95[0].toFixed(3)}-${a.ci95[1].toFixed(3)}), threshold ${fit.threshold.threshold}`,
      `BCC outputs ${decided.bccOutputs.identical ? 'identical' : `changed on ${decided.bccOutputs.differing} images`}; consistency ${decided.consistency.before.value.toFixed(3)} -> ${decided.consistency.after.value.toFixed(3)}`,
      `candidate ${candidate.version}: ${acceptance.decision}${decided.reasons.length ? `: ${decided.reasons.map((r) => r.message).join('; ')}` : ''}`,
    ].join('\n'),
  };
}
