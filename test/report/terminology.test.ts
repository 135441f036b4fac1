import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { DEFAULT_TERMINOLOGY, parseTerminology } from '../../src/report/terminology.ts';
import { terminology } from './fixtures.ts';

const raw: unknown = JSON.parse(await readFile(DEFAULT_TERMINOLOGY, 'utf8'));

describe('terminology (codes.json)', () => {
  it('loads, with every external code carrying where it was verified', () => {
    for (const c of [terminology.report.code, terminology.report.category, terminology.report.bccLikelyConclusion]) {
      assert.ok((c.verifiedFrom ?? '').length > 10, `${c.code} has no verifiedFrom`);
    }
    assert.equal(terminology.canonicalBase, 'http://bcc-cds.org/fhir');
    for (const url of Object.values(terminology.profiles)) {
      assert.ok(url.startsWith(`${terminology.canonicalBase}/StructureDefinition/`), url);
    }
  });

  it('rejects a file that lost a triage category, naming the element', () => {
    const t = structuredClone(terminology);
    const bad = { ...t, codeSystems: { ...t.codeSystems, triageCategory: { url: t.codeSystems.triageCategory.url, codes: ['high', 'low'] } } };
    assert.throws(() => parseTerminology(bad, 'codes'), (e: Error) => e.message.includes('triage category moderate is missing'));
  });

  it('rejects an override reason without display (CDS Hooks requires one)', () => {
    const t = structuredClone(terminology);
    const bad = { ...t, cards: { ...t.cards, overrideReasons: [{ system: 'http://x.org/cs', code: 'x' }] } };
    assert.throws(() => parseTerminology(bad, 'codes'), /display|expected string/i);
  });

  it('parses the file as stored', () => {
    assert.deepEqual(parseTerminology(raw), terminology);
  });
});
