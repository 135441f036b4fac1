import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../../../src/config.ts';
import { loadManifest } from '../../../src/model/manifest.ts';
import { codeKey } from '../../../src/tools/profiles/expand-value-set.ts';
import { DEFAULT_REFERRAL_CODES, loadReferralValueSet } from '../../../src/referral/referral-value-set.ts';
import { DEFAULT_TERMINOLOGY, loadTerminology } from '../../../src/report/terminology.ts';
import { loadRuleSet } from '../../../src/rules/rule-set.ts';
import { DEFAULT_PROFILE_DIR, loadProfileSet } from '../../../src/tools/profiles/profile-set.ts';
import { validator } from './helpers.ts';

const manifest = await loadManifest(DEFAULT_MODEL_MANIFEST);
const rules = await loadRuleSet(DEFAULT_RULES);
const terminology = await loadTerminology();
/** Ours only: the AI Transparency IG's are checked in ai-transparency.test.ts. */
const profiles = await loadProfileSet(DEFAULT_PROFILE_DIR);

function codeSystem(url: string): CodeSystem {
  const cs = profiles.codeSystems.get(url);
  assert.ok(cs, `CodeSystem ${url} is not in fhir-profiles`);
  return cs;
}

function concept(cs: CodeSystem, code: string): CodeSystemConcept {
  const c = cs.concept?.find((x) => x.code === code);
  assert.ok(c, `${cs.url}#${code} missing`);
  return c;
}

function property(c: CodeSystemConcept, code: string): unknown {
  const p = c.property?.find((x) => x.code === code);
  return p?.valueCode ?? p?.valueInteger;
}

/** The FSH is written by hand; these keep it equal to the data files the service runs on. */
describe('the CodeSystems match the data files the service reads', () => {
  it('dermoscopic patterns: every manifest pattern, same display and role, with a definition', () => {
    const cs = codeSystem(terminology.codeSystems.dermoscopicPattern.url);
    for (const p of manifest.patterns) {
      const c = concept(cs, p.id);
      assert.equal(c.display, p.display, p.id);
      assert.equal(property(c, 'role'), p.role, p.id);
      assert.ok((c.definition ?? '').length > 20, `${p.id} needs a definition`);
    }
  });

  it('triage categories: the rule file categories, displays and ranks', () => {
    const cs = codeSystem(terminology.codeSystems.triageCategory.url);
    assert.deepEqual(cs.concept?.map((c) => c.code).sort(), [...terminology.codeSystems.triageCategory.codes].sort());
    for (const cat of rules.categories) {
      const c = concept(cs, cat.code);
      assert.equal(c.display, cat.display, cat.code);
      assert.equal(property(c, 'rank'), cat.rank, cat.code);
    }
  });

  it('our own codes of codes.json: observation codes, card topic, override reasons', () => {
    for (const c of [terminology.observation.bccProbability, terminology.observation.patternProbability, terminology.cards.topic, ...terminology.cards.overrideReasons]) {
      assert.equal(concept(codeSystem(c.system), c.code).display, c.display, `${c.system}#${c.code}`);
    }
  });

  it('the referral ValueSet mirrors cds-hooks/referral-codes.json', async () => {
    const file = await loadReferralValueSet(DEFAULT_REFERRAL_CODES);
    const expansion = validator.expander.expand('http://bcc-cds.org/fhir/ValueSet/dermatology-referral');
    assert.deepEqual([...(expansion ?? [])].sort(), file.codes.map((c) => codeKey(c.system, c.code)).sort());
  });

  it('the conclusion ValueSet holds the triage categories and the SNOMED CT code codes.json names', () => {
    const expansion = validator.expander.expand('http://bcc-cds.org/fhir/ValueSet/bcc-conclusion');
    const bcc = terminology.report.bccLikelyConclusion;
    assert.ok(expansion?.has(codeKey(bcc.system, bcc.code)));
    for (const c of terminology.codeSystems.triageCategory.codes) {
      assert.ok(expansion?.has(codeKey(terminology.codeSystems.triageCategory.url, c)), c);
    }
  });

  it('what a heatmap may explain: the BCC probability and every pattern', () => {
    const expansion = validator.expander.expand(`${terminology.canonicalBase}/ValueSet/heatmap-explained-output`);
    const bcc = terminology.observation.bccProbability;
    assert.ok(expansion?.has(codeKey(bcc.system, bcc.code)));
    for (const p of manifest.patterns) {
      assert.ok(expansion?.has(codeKey(terminology.codeSystems.dermoscopicPattern.url, p.id)), p.id);
    }
  });
});

describe('required bindings can be checked offline', () => {
  /** BCP-13 mime types cannot be enumerated; the heatmap profile fixes image/png instead. */
  const NOT_ENUMERABLE = new Set(['http://hl7.org/fhir/ValueSet/mimetypes']);

  it('every required binding of our profiles expands', () => {
    for (const sd of profiles.structureDefinitions.values()) {
      for (const el of sd.snapshot?.element ?? []) {
        const vs = el.binding?.strength === 'required' ? el.binding.valueSet?.split('|')[0] : undefined;
        if (vs && !NOT_ENUMERABLE.has(vs)) {
          assert.ok(validator.expander.expand(vs)?.size, `${sd.id} ${el.id}: ${vs} does not expand`);
        }
      }
    }
  });

  it('every ValueSet codes.json lists is shipped', async () => {
    const raw = JSON.parse(await readFile(DEFAULT_TERMINOLOGY, 'utf8')) as { valueSets: Record<string, string> };
    for (const url of Object.values(raw.valueSets)) {
      assert.ok(profiles.valueSets.has(url), url);
    }
    assert.equal(Object.keys(raw.valueSets).length, profiles.valueSets.size);
  });

  it('the shipped CodeSystems and ValueSets carry the canonical base of codes.json', () => {
    for (const r of [...profiles.codeSystems.values(), ...profiles.valueSets.values(), ...profiles.structureDefinitions.values()]) {
      assert.ok(r.url?.startsWith(`${terminology.canonicalBase}/`), r.url);
    }
  });

  it('the snapshots are R4 4.0.1', () => {
    for (const sd of profiles.structureDefinitions.values()) {
      assert.equal(sd.fhirVersion, '4.0.1', sd.url);
      assert.ok(sd.snapshot?.element.length, `${sd.url} has no snapshot`);
    }
  });
});
