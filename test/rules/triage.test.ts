import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RULES } from '../../src/config.ts';
import type { CriterionResult } from '../../src/rules/criterion.ts';
import { checkRulesAgainstThresholds, loadRuleSet } from '../../src/rules/rule-set.ts';
import { assignTriage } from '../../src/rules/triage.ts';

const rules = await loadRuleSet(DEFAULT_RULES);
const thresholds = { review: 0.1, triage: 0.2, balanced: 0.5, specific: 0.8 };

function criterion(verdict: CriterionResult['verdict']): CriterionResult {
  return { verdict, clause: 'test', evidence: [], text: `criterion says ${verdict}`, notAssessed: ['Ulceration'] };
}

describe('triage', () => {
  const table: [number, CriterionResult['verdict'], string, string][] = [
    [0.9, 'not-bcc', 'high', 'at-specific-point'],
    [0.3, 'bcc', 'high', 'at-triage-point-with-pattern'],
    [0.3, 'indeterminate', 'moderate', 'at-triage-point'],
    [0.3, 'not-bcc', 'indeterminate', 'network-criterion-conflict'],
    [0.05, 'bcc', 'indeterminate', 'pattern-criterion-conflict'],
    [0.15, 'not-bcc', 'indeterminate', 'borderline'],
    [0.15, 'indeterminate', 'indeterminate', 'borderline'],
    [0.1, 'not-bcc', 'indeterminate', 'borderline'], // at the review point counts as borderline
    [0.05, 'not-bcc', 'low', 'below-review-point'],
    [0.05, 'indeterminate', 'low', 'below-review-point'],
    [0.2, 'indeterminate', 'moderate', 'at-triage-point'], // at the threshold counts as above
  ];
  for (const [p, v, category, rule] of table) {
    it(`p=${p}, criterion ${v} -> ${category} (${rule})`, () => {
      const t = assignTriage(p, criterion(v), thresholds, rules);
      assert.equal(t.category, category);
      assert.equal(t.rule, rule);
    });
  }

  it('reports concordance between the network and the criterion', () => {
    assert.equal(assignTriage(0.6, criterion('bcc'), thresholds, rules).concordance, 'concordant');
    assert.equal(assignTriage(0.6, criterion('not-bcc'), thresholds, rules).concordance, 'discordant');
    assert.equal(assignTriage(0.1, criterion('not-bcc'), thresholds, rules).concordance, 'concordant');
    assert.equal(assignTriage(0.6, criterion('indeterminate'), thresholds, rules).concordance, 'criterion-indeterminate');
  });

  it('explains itself in words: probability, criterion, what was not assessed, agreement, priority', () => {
    const t = assignTriage(0.6, criterion('not-bcc'), thresholds, rules);
    assert.match(t.trace[0]!, /0\.600 \(at or above the balanced operating point 0\.500\)/);
    assert.equal(t.trace[1], 'criterion says not-bcc');
    assert.match(t.trace[2]!, /Not assessed by this model: Ulceration/);
    assert.match(t.trace[3]!, /disagree/);
    assert.match(t.trace[4]!, /^Indeterminate: dermatologist review/);
  });

  it('keeps the queue order of the categories declared in code', async () => {
    const { parseRuleSet } = await import('../../src/rules/rule-set.ts');
    const json = JSON.parse(JSON.stringify(rules)) as { categories: { code: string; rank: number }[] };
    const swapped = json.categories.map((c) => (c.code === 'low' ? { ...c, rank: 3 } : c.code === 'indeterminate' ? { ...c, rank: 4 } : c));
    assert.throws(() => parseRuleSet({ ...json, categories: swapped }, 'test'), /ranks must order/);
  });

  it('refuses rules that name an operating point the manifest lacks', () => {
    assert.throws(() => { checkRulesAgainstThresholds(rules, { triage: 0.2, balanced: 0.5, review: 0.1 }); }, /specific/);
    assert.throws(() => { checkRulesAgainstThresholds(rules, { triage: 0.2, balanced: 0.5, specific: 0.8 }); }, /review/);
    checkRulesAgainstThresholds(rules, thresholds);
  });
});
