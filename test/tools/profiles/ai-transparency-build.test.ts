import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IG_DEFAULT_SOURCE, IG_RESOURCE_DIR, digestResourceDir, readIgBuildRecord, sourceCommit, sourceDigest } from '../../../src/tools/profiles/ig-build-record.ts';
import { runCli } from '../../support/run-cli.ts';

const record = await readIgBuildRecord();
const SOURCES_PRESENT = existsSync(join(IG_DEFAULT_SOURCE, 'sushi-config.yaml'));
const SKIP = SOURCES_PRESENT ? false : `skipped: the IG's FSH sources are not at ${IG_DEFAULT_SOURCE}, so the committed build cannot be compared with a fresh one`;

describe('fhir-profiles/aitransparency: the AI Transparency IG as built by npm run ig', () => {
  it('build.json names every committed file with its sha256, and nothing else', async () => {
    assert.deepEqual(await digestResourceDir(IG_RESOURCE_DIR), record.files);
  });

  it('records the upstream commit, a source digest and the build tool', () => {
    assert.match(record.source.commit, /^[0-9a-f]{40}$/);
    assert.match(record.source.digest, /^[0-9a-f]{64}$/);
    assert.equal(record.packageId, 'hl7.fhir.uv.aitransparency');
    assert.match(record.build.tool, /^fsh-sushi 3\.21\.0 /);
    assert.ok(record.build.configChanges.some((c) => c.includes('hl7.fhir.uv.security-label-ds4p')));
  });

  it('holds the profiles and extensions the service claims, with snapshots, and no examples', async () => {
    const base = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/';
    const wanted = ['AI-Device', 'AI-Provenance', 'AI-ModelCard', 'AIconfidence', 'aitransparency.AIKind', 'aitransparency.modelCardDescription'];
    for (const id of wanted) {
      const sd = JSON.parse(await readFile(join(IG_RESOURCE_DIR, `StructureDefinition-${id}.json`), 'utf8')) as { url: string; snapshot?: { element: unknown[] } };
      assert.equal(sd.url, `${base}${id}`);
      assert.ok(sd.snapshot?.element.length, `${id} has a snapshot`);
    }
    for (const f of Object.keys(record.files)) {
      assert.match(f, /^(StructureDefinition|ValueSet|CodeSystem)-/);
    }
  });

  it('the sources in ../shared are the ones the committed build records', { skip: SKIP }, async () => {
    const now = await sourceDigest(IG_DEFAULT_SOURCE);
    assert.equal(now.digest, record.source.digest, 'the FSH changed since npm run ig: run it again');
    assert.equal(await sourceCommit(IG_DEFAULT_SOURCE), record.source.commit);
  });

  it('a fresh build from ../shared gives exactly the committed files (npm run ig -- --check)', { skip: SKIP, timeout: 120_000 }, async () => {
    const r = await runCli('scripts/build-ig.ts', ['--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /is what the sources build/);
  });
});
