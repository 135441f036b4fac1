/**
 * The model card of a learned pattern: the manifest's `modelCard.learnedPatterns[id]` section, its
 * limit line, and model-card.md, the same facts for people. Who annotated, how many images, how the
 * consensus went and the estimated performance with its 95% CI, and plainly where that estimate
 * comes from. Pure.
 */
import type { ModelManifest } from '../model/manifest.ts';
import type { PatternHeadFit } from './fit-pattern-head.ts';

export interface AnnotatorSummary {
  readonly id: string;
  readonly votes: number;
  /** null with a single annotator (not identifiable). */
  readonly sensitivity: number | null;
  readonly specificity: number | null;
}

export interface LearnedPatternCard {
  readonly display: string;
  readonly version: string;
  readonly learnedFrom: string;
  readonly fittedAt: string;
  readonly annotators: readonly AnnotatorSummary[];
  readonly images: number;
  readonly positives: number;
  readonly negatives: number;
  readonly consensus: { readonly method: string; readonly uncertain: number; readonly uncertainRange: readonly [number, number] };
  readonly estimatedPerformance: {
    readonly kind: string;
    readonly auc: { readonly value: number; readonly ci95: readonly [number, number] };
    readonly threshold: number;
    readonly sensitivity: number;
    readonly specificity: number;
  };
  readonly head: string;
}

export const UNCERTAIN_RANGE: readonly [number, number] = [0.2, 0.8];

/** What a learned head was fitted from: the base, the fit, who annotated and how the labels fell. */
export interface LearnedHeadFacts {
  readonly base: ModelManifest;
  readonly fit: PatternHeadFit;
  readonly annotators: readonly AnnotatorSummary[];
  /** Images the head was fitted on, and how many had a consensus posterior in 0.2-0.8. */
  readonly positives: number;
  readonly negatives: number;
  readonly uncertain: number;
  readonly folds: number;
  readonly groups: { readonly source: string; readonly count: number };
}

export function learnedPatternCard(input: LearnedHeadFacts & { readonly display: string; readonly version: string; readonly fittedAt: string }): LearnedPatternCard {
  const { fit } = input;
  return {
    display: input.display,
    version: input.version,
    learnedFrom: input.base.version,
    fittedAt: input.fittedAt,
    annotators: input.annotators,
    images: input.positives + input.negatives,
    positives: input.positives,
    negatives: input.negatives,
    consensus: {
      method: 'Dawid-Skene EM over the annotators\' votes; label = posterior >= 0.5 (hard labels)',
      uncertain: input.uncertain,
      uncertainRange: UNCERTAIN_RANGE,
    },
    estimatedPerformance: {
      kind: `out-of-fold, ${input.folds}-fold cross-validation grouped by ${input.groups.source === 'image' ? 'image (no lesion groups given)' : 'lesion'} on the annotated images; 95% CI by bootstrap over groups; threshold by Youden's J on the out-of-fold calibrated probabilities`,
      auc: { value: fit.auc.value, ci95: [fit.auc.ci95[0], fit.auc.ci95[1]] },
      threshold: fit.threshold.threshold,
      sensitivity: fit.threshold.sensitivity,
      specificity: fit.threshold.specificity,
    },
    head: 'class-balanced L2 logistic regression (L2 10, standardised features) on the spatial mean of the network\'s 1280-channel features map; Platt-calibrated on out-of-fold logits',
  };
}

function f3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}

export function learnedPatternLimit(card: LearnedPatternCard): string {
  const a = card.estimatedPerformance.auc;
  return `${card.display} (learned ${card.fittedAt.slice(0, 10)}, version ${card.version}): its estimated performance (AUC ${f3(a.value)}, 95% CI ${f3(a.ci95[0])}-${f3(a.ci95[1])}) comes from the ${card.images} images annotated in this hospital by ${card.annotators.length} annotator(s), cross-validated; it is not an independent test set`;
}

function isCard(v: unknown): v is LearnedPatternCard {
  return typeof v === 'object' && v !== null && 'estimatedPerformance' in v && 'annotators' in v;
}

/** model-card.md: the manifest's card for people, learned patterns first. */
export function formatModelCardMarkdown(m: ModelManifest): string {
  const lines = [`# Model card: ${m.name} ${m.version}`, ''];
  if (m.learning) {
    lines.push(`Learned from ${m.name} ${m.learning.from} (pattern \`${m.learning.pattern}\`); acceptance: **${m.learning.decision}** (acceptance.json sha256 \`${m.learning.acceptanceSha256}\`).`, '');
  }
  lines.push(`- Intended use: ${m.modelCard.intendedUse}`, `- Licence: ${m.modelCard.licence}`, `- Network: \`${m.file}\`, sha256 \`${m.sha256}\``, '');
  lines.push('## Patterns assessed', '', '| pattern | role | head | threshold | since |', '| --- | --- | --- | --- | --- |');
  for (const p of m.patterns.filter((q) => q.trained)) {
    lines.push(`| ${p.display} | ${p.role} | ${p.head ?? 'texture'} | ${p.threshold ?? ''} | ${p.assessedSince ?? ''} |`);
  }
  lines.push('', `Not assessed: ${m.patterns.filter((q) => !q.trained).map((q) => q.display).join(', ') || 'none'}.`, '');
  const cards = Object.entries((m.modelCard.learnedPatterns ?? {}) as Record<string, unknown>).filter((e): e is [string, LearnedPatternCard] => isCard(e[1]));
  if (cards.length) {
    lines.push('## Learned patterns', '');
  }
  for (const [id, c] of cards) {
    const e = c.estimatedPerformance;
    lines.push(
      `### ${c.display} (\`${id}\`), learned ${c.fittedAt.slice(0, 10)} from ${c.learnedFrom}`,
      '',
      `- Images: ${c.images} (${c.positives} with the pattern, ${c.negatives} without)`,
      `- Consensus: ${c.consensus.method}; ${c.consensus.uncertain} image(s) had a posterior between ${c.consensus.uncertainRange[0]} and ${c.consensus.uncertainRange[1]}`,
      `- Estimated AUC: ${f3(e.auc.value)} (95% CI ${f3(e.auc.ci95[0])}-${f3(e.auc.ci95[1])}); at the threshold ${e.threshold}: sensitivity ${f3(e.sensitivity)}, specificity ${f3(e.specificity)}`,
      `- How estimated: ${e.kind}`,
      `- Head: ${c.head}`,
      '',
      '| annotator | votes | sensitivity | specificity |',
      '| --- | --- | --- | --- |',
      ...c.annotators.map((a) => `| ${a.id} | ${a.votes} | ${a.sensitivity === null ? '-' : f3(a.sensitivity)} | ${a.specificity === null ? '-' : f3(a.specificity)} |`),
      '',
    );
  }
  lines.push('## Limits', '', ...m.modelCard.limits.map((l) => `- ${l}`), '');
  return lines.join('\n');
}
