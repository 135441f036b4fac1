import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../src/config.ts';
import { loadTerminology } from '../../../src/report/terminology.ts';
import { assertValid, validator } from './helpers.ts';

const EXAMPLES = resolve(PROJECT_ROOT, 'fhir-profiles/examples');
const files = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.json')).sort();
const examples = await Promise.all(files.map(async (f) => ({ file: f, json: JSON.parse(await readFile(join(EXAMPLES, f), 'utf8')) as { resourceType: string; meta?: { profile?: string[] } } })));
const terminology = await loadTerminology();

describe('fhir-profiles/examples (from a real model run, scripts/make-examples.ts)', () => {
  for (const { file, json } of examples) {
    it(`${file} validates`, () => {
      assertValid(validator.validateResource(json, { requireProfile: json.resourceType !== 'Bundle' }), file);
    });
  }

  it('has an example for every profile codes.json names, and the transaction Bundle', () => {
    const claimed = new Set(examples.flatMap((e) => e.json.meta?.profile ?? []));
    for (const url of Object.values(terminology.profiles)) {
      assert.ok(claimed.has(url), `no example claims ${url}`);
    }
    assert.ok(files.includes('Bundle-bcc-triage-transaction.json'));
  });

  it('every profile codes.json names is a StructureDefinition with a snapshot', () => {
    for (const url of Object.values(terminology.profiles)) {
      const sd = validator.profiles.structureDefinitions.get(url);
      assert.ok(sd?.snapshot?.element.length, `${url} missing or without snapshot`);
    }
    for (const url of [terminology.media.sourceImageExtension, terminology.media.explainedOutputExtension]) {
      assert.equal(validator.profiles.structureDefinitions.get(url)?.type, 'Extension', url);
    }
  });
});
