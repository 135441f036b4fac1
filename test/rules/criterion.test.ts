import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RULES } from '../../src/config.ts';
import type { PatternFinding, PatternStatus } from '../../src/model/findings.ts';
import { applyBccCriterion } from '../../src/rules/criterion.ts';
import { loadRuleSet, parseRuleSet } from '../../src/rules/rule-set.ts';

const rules = await loadRuleSet(DEFAULT_RULES);

function findings(pn: PatternStatus, arb: PatternStatus, ulc: PatternStatus = 'not-assessed'): PatternFinding[] {
  return [
    { id: 'pigment_network', display: 'Pigment network', role: 'negative', status: pn },
    { id: 'ulceration', display: 'Ulceration', role: 'positive', status: ulc },
    { id: 'arborizing_telangiectasia', display: 'Arborizing telangiectasia', role: 'positive', status: arb },
  ];
}

describe('BCC criterion (rule file)', () => {
  // Truth table: pigment network excludes first; else any positive pattern; else indeterminate.
  const table: [PatternStatus, PatternStatus, PatternStatus, string, string][] = [
    ['present', 'present', 'not-assessed', 'not-bcc', 'negative-pattern-excludes'],
    ['present', 'absent', 'not-assessed', 'not-bcc', 'negative-pattern-excludes'],
    ['present', 'not-assessed', 'present', 'not-bcc', 'negative-pattern-excludes'],
    ['absent', 'present', 'not-assessed', 'bcc', 'positive-pattern-indicates'],
    ['absent', 'absent', 'present', 'bcc', 'positive-pattern-indicates'],
    ['absent', 'absent', 'not-assessed', 'indeterminate', 'otherwise'],
    ['absent', 'absent', 'absent', 'indeterminate', 'otherwise'],
    ['not-assessed', 'present', 'not-assessed', 'bcc', 'positive-pattern-indicates'],
    ['not-assessed', 'not-assessed', 'not-assessed', 'indeterminate', 'otherwise'],
  ];
  for (const [pn, arb, ulc, verdict, clause] of table) {
    it(`pigment network ${pn}, arborizing ${arb}, ulceration ${ulc} -> ${verdict}`, () => {
      const r = applyBccCriterion(findings(pn, arb, ulc), rules);
      assert.equal(r.verdict, verdict);
      assert.equal(r.clause, clause);
    });
  }

  it('names the patterns that fired, and only present ones', () => {
    const r = applyBccCriterion(findings('absent', 'present', 'present'), rules);
    assert.deepEqual(r.evidence, ['ulceration', 'arborizing_telangiectasia']);
    assert.match(r.text, /Ulceration, Arborizing telangiectasia/);
  });

  it('never counts a pattern the model cannot assess', () => {
    const r = applyBccCriterion(findings('absent', 'not-assessed', 'not-assessed'), rules);
    assert.equal(r.verdict, 'indeterminate');
    assert.deepEqual(r.notAssessed, ['Ulceration', 'Arborizing telangiectasia']);
  });

  it('follows the clause order of the file, not of the code', () => {
    const reversed = parseRuleSet({ ...rules, clauses: [...rules.clauses].reverse() });
    assert.equal(applyBccCriterion(findings('present', 'present'), reversed).verdict, 'bcc');
  });

  it('rejects a rule file whose last triage row is not a catch-all', () => {
    const bad = { ...rules, triage: rules.triage.slice(0, -1) };
    assert.throws(() => parseRuleSet(bad, 'rules'), /last triage row must match everything/);
  });

  it('rejects an unknown verdict, naming the element', () => {
    const bad = { ...rules, clauses: [{ ...rules.clauses[0], then: 'melanoma' }] };
    assert.throws(() => parseRuleSet(bad, 'rules'), (e: Error) => JSON.stringify(e).includes('rules.clauses.0.then') || e.message.includes('then'));
  });
});
