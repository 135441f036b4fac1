import { readJsonFile } from '../common/read-json-file.ts';
import { z } from 'zod';
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';
import { PATTERN_ROLES } from '../model/manifest.ts';

/** What the dermatologists' criterion can conclude. */
export const CRITERION_VERDICTS = ['bcc', 'not-bcc', 'indeterminate'] as const;
export type CriterionVerdict = (typeof CRITERION_VERDICTS)[number];

/** In queue order: most urgent first (the rule file's ranks must agree). */
export const TRIAGE_CATEGORIES = ['high', 'moderate', 'indeterminate', 'low'] as const;
export type TriageCategory = (typeof TRIAGE_CATEGORIES)[number];

const clause = z.object({
  id: z.string().min(1),
  if: z.object({ anyPresent: z.object({ role: z.enum(PATTERN_ROLES) }) }),
  then: z.enum(CRITERION_VERDICTS),
  text: z.string().min(1),
});

const triageRow = z.object({
  id: z.string().min(1),
  if: z.object({ probabilityAtLeast: z.string().min(1).optional(), criterion: z.enum(CRITERION_VERDICTS).optional() }),
  category: z.enum(TRIAGE_CATEGORIES),
  text: z.string().min(1),
});

const ruleSetSchema = z
  .object({
    id: z.string().min(1),
    version: z.string().min(1),
    title: z.string().min(1),
    source: z.string().min(1),
    clauses: z.array(clause).min(1),
    otherwise: z.object({ then: z.enum(CRITERION_VERDICTS), text: z.string().min(1) }),
    network: z.object({ threshold: z.string().min(1), text: z.string().min(1) }),
    triage: z.array(triageRow).min(1),
    /**
     * The priority words, defined here once: `display` on cards, reports, the viewer and the queue
     * (short: it goes into the card summary); `meaning` says what the priority means, in the detail.
     */
    categories: z.array(z.object({ code: z.enum(TRIAGE_CATEGORIES), display: z.string().min(1).max(40), meaning: z.string().min(1), rank: z.number().int() })),
  })
  .loose()
  .superRefine((r, ctx) => {
    const last = r.triage[r.triage.length - 1];
    if (last && (last.if.probabilityAtLeast !== undefined || last.if.criterion !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['triage', r.triage.length - 1, 'if'], message: 'the last triage row must match everything ({})' });
    }
    const byRank = [...r.categories].sort((a, b) => a.rank - b.rank).map((k) => k.code);
    if (byRank.join(',') !== TRIAGE_CATEGORIES.join(',')) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: `ranks must order the categories ${TRIAGE_CATEGORIES.join(', ')}` });
    }
    for (const c of TRIAGE_CATEGORIES) {
      if (!r.categories.some((k) => k.code === c)) {
        ctx.addIssue({ code: 'custom', path: ['categories'], message: `category ${c} is not described` });
      }
    }
  });

/** The clinical criterion and triage table as data (models/rules/*.json); see src/rules/README.md. */
export type RuleSet = Readonly<z.infer<typeof ruleSetSchema>>;

export function parseRuleSet(json: unknown, source = 'rules'): RuleSet {
  return parseOrThrow(ruleSetSchema, json, source);
}

/** Checks that every operating point the rules name exists in the model manifest. */
export function checkRulesAgainstThresholds(rules: RuleSet, thresholds: Readonly<Record<string, number>>): void {
  const named = [rules.network.threshold, ...rules.triage.flatMap((t) => (t.if.probabilityAtLeast ? [t.if.probabilityAtLeast] : []))];
  const missing = named.filter((n) => thresholds[n] === undefined);
  if (missing.length) {
    throw new OperationOutcomeError(
      badRequest(`rules name operating points the model manifest lacks: ${[...new Set(missing)].join(', ')}`, 'rules.triage'),
    );
  }
}

/** The priority words of a category: `display` (short) and `meaning` (a sentence). */
export function describeCategory(rules: RuleSet, code: TriageCategory): { readonly display: string; readonly meaning: string } {
  const c = rules.categories.find((k) => k.code === code);
  // parseRuleSet guarantees every category is described.
  return { display: c?.display ?? code, meaning: c?.meaning ?? '' };
}

export async function loadRuleSet(path: string): Promise<RuleSet> {
  return parseRuleSet(await readJsonFile(path, 'rule file'), path);
}
