import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../src/config.ts';
import type { CliRun } from '../../support/run-cli.ts';
import { runCli } from '../../support/run-cli.ts';

const EXAMPLES = resolve(PROJECT_ROOT, 'fhir-profiles/examples');

function runValidate(args: readonly string[]): Promise<CliRun> {
  return runCli('src/tools/cli/validate.ts', args, { nodeFlags: ['--experimental-websocket'] });
}

describe('npm run validate', () => {
  it('prints OK for a valid file and each error of a broken one, and exits 1', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const media = JSON.parse(await readFile(join(EXAMPLES, 'Media-heatmap-media.json'), 'utf8')) as { content: { contentType: string } };
    media.content.contentType = 'image/jpeg';
    const broken = join(dir, 'broken-media.json');
    await writeFile(broken, JSON.stringify(media));
    const notJson = join(dir, 'not-json.json');
    await writeFile(notJson, '{ nope');

    const good = join(EXAMPLES, 'Bundle-bcc-triage-transaction.json');
    const r = await runValidate([good, broken, notJson]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: OK`));
    assert.match(r.stdout, /broken-media\.json: error Media\.content\.contentType: Value did not match expected pattern: expected "image\/png"/);
    assert.match(r.stdout, /not-json\.json: error cannot read JSON/);
    // What it could not check is listed, never passed silently: the Bundle's Provenance claims the
    // AI Transparency IG's AI-Provenance, whose entity slices are discriminated by the target's
    // profile, and the EHR's image it names is not an entry of the Bundle.
    assert.match(r.stdout, /^not checked by this validator/m);
    assert.match(r.stdout, /^ {2}- whether it is in slice modelCard of Provenance\.entity: its reference cannot be resolved here/m);
    assert.match(r.stdout, /^ {2}- bindings weaker than required/m);
    assert.match(r.stdout, /^ {2}- invariants dom-3 \(skipped by Medplum\), dom-6 \(warning\), ele-1 \(skipped by Medplum\) of http:\/\/hl7\.org\/fhir\/uv\/aitransparency\/StructureDefinition\/AI-Provenance$/m);
  });

  it('exits 0 when every file is valid, and 2 without files', async () => {
    const ok = await runValidate([join(EXAMPLES, 'Observation-dermoscopic-pattern.json'), join(EXAMPLES, 'Provenance-ai-provenance.json')]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /Observation-dermoscopic-pattern\.json: OK/);
    // Alone, outside a Bundle, the Provenance's entity slices by profile cannot be told at all.
    assert.match(ok.stdout, /^ {2}- Provenance\.entity sliced by discriminator profile on what\.resolve\(\)/m);
    const usage = await runValidate([]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: npm run validate/);
  });
});
