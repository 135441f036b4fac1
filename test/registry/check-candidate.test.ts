import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalDigest } from '../../src/common/canonical-json.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { checkCandidate, refusalCodes } from '../../src/registry/check-candidate.ts';
import { summarizeVersion, versionPatterns } from '../../src/registry/model-overview.ts';
import { LEARNED_PATTERN, installedJson, learnedCandidate } from './candidate.ts';
import type { Candidate, Json } from './candidate.ts';

const installed = parseManifest(installedJson);
const ctx = { installed, registeredVersions: [installed.version] };

/** The refusal codes checkCandidate throws (422), or [] when it passes. */
function refusals(c: Candidate, registered: readonly string[] = ctx.registeredVersions): string[] {
  try {
    checkCandidate(c, { installed, registeredVersions: registered });
    return [];
  } catch (err) {
    assert.ok(err instanceof OperationOutcomeError, String(err));
    assert.equal(getStatus(err.outcome), 422);
    return refusalCodes(err.outcome).sort();
  }
}

function edit(c: Candidate, f: (m: Json, a: Json) => void): Candidate {
  const manifest = structuredClone(c.manifest);
  const acceptance = structuredClone(c.acceptance);
  f(manifest, acceptance);
  return { manifest, acceptance };
}

describe('registration checks (pure)', () => {
  it('passes a learned candidate of the installed network, and gives the acceptance digest', () => {
    const c = learnedCandidate('1.6.0');
    const checked = checkCandidate(c, ctx);
    assert.equal(checked.manifest.version, '1.6.0');
    assert.equal(checked.acceptanceSha256, canonicalDigest(c.acceptance));
  });

  it('the digest is over canonical JSON: the report re-serialised with other key order still matches', () => {
    const c = learnedCandidate('1.6.0');
    const reordered = Object.fromEntries(Object.entries(c.acceptance).reverse());
    assert.deepEqual(refusals({ manifest: c.manifest, acceptance: reordered }), []);
  });

  it('refuses a report that is not the one the manifest names (digest mismatch)', () => {
    assert.deepEqual(refusals(edit(learnedCandidate('1.6.0'), (_m, a) => { a.positives = 41; })), ['digest-mismatch']);
  });

  it('refuses a refused decision, in the report and in the manifest', () => {
    assert.deepEqual(refusals(learnedCandidate('1.6.0', { decision: 'refused' })), ['decision-refused', 'decision-refused']);
    const noDecision = learnedCandidate('1.6.0');
    const acceptance = { pattern: LEARNED_PATTERN };
    (noDecision.manifest.learning as Json).acceptanceSha256 = canonicalDigest(acceptance);
    assert.deepEqual(refusals({ manifest: noDecision.manifest, acceptance }), ['decision-refused']);
  });

  it('refuses another network, other inputs or outputs, and other patterns', () => {
    assert.deepEqual(refusals(edit(learnedCandidate('1.6.0'), (m) => { m.sha256 = '0'.repeat(64); })), ['other-network']);
    assert.deepEqual(refusals(edit(learnedCandidate('1.6.0'), (m) => { (m.input as Json).std = [0.25, 0.25, 0.25]; })), ['other-io']);
    const swapped = edit(learnedCandidate('1.6.0'), (m) => {
      const ps = m.patterns as Json[];
      [ps[0], ps[1]] = [ps[1] ?? {}, ps[0] ?? {}];
      const cam = (m.outputs as { cam: { channels: string[] } }).cam;
      cam.channels = ['bcc', ...ps.map((p) => String(p.id))];
    });
    assert.deepEqual(refusals(swapped), ['other-io', 'other-patterns'], 'the CAM channels follow the patterns');
  });

  it('refuses a version already registered', () => {
    assert.deepEqual(refusals(learnedCandidate('1.6.0'), [installed.version, '1.6.0']), ['duplicate-version']);
  });

  it('refuses a manifest without its learning block (the installed one re-sent)', () => {
    const c = { manifest: { ...structuredClone(installedJson), version: '1.6.0' }, acceptance: { decision: 'accepted' } };
    assert.deepEqual(refusals(c), ['no-learning']);
  });

  it('names each bad manifest element, and lists every reason at once', () => {
    const elementsAtFault = (bad: Candidate): string[] => {
      try {
        checkCandidate(bad, ctx);
        return assert.fail('refused');
      } catch (err) {
        assert.ok(err instanceof OperationOutcomeError);
        assert.ok(refusalCodes(err.outcome).every((c) => c === 'bad-manifest'));
        return err.outcome.issue.flatMap((i) => i.expression ?? []);
      }
    };
    assert.deepEqual(elementsAtFault(edit(learnedCandidate('1.6.0'), (m) => { delete m.name; })), ['manifest.name']);
    const narrow = edit(learnedCandidate('1.6.0'), (m) => { ((m.patterns as Json[])[1]!).learned = { weights: [1, 2], bias: 0, calibration: { method: 'platt', slope: 1, intercept: 0 } }; });
    assert.deepEqual(elementsAtFault(narrow), ['manifest.patterns.1.learned.weights']);
    const many = edit(learnedCandidate('1.6.0', { decision: 'refused' }), (m) => { m.sha256 = '1'.repeat(64); });
    assert.deepEqual(refusals(many, [installed.version, '1.6.0']), ['decision-refused', 'decision-refused', 'duplicate-version', 'other-network']);
  });

  it('says which patterns a version assesses, with which head and since when', () => {
    const m = parseManifest(learnedCandidate('1.6.0', { since: '2026-12-02' }).manifest);
    const byId = new Map(versionPatterns(m).map((p) => [p.id, p]));
    assert.deepEqual(byId.get(LEARNED_PATTERN), { id: LEARNED_PATTERN, display: 'Ulceration', role: 'positive', assessed: true, since: '2026-12-02', head: 'learned' });
    assert.equal(byId.get('pigment_network')?.head, 'graph');
    assert.equal(byId.get('spoke_wheel_areas')?.assessed, false);
    assert.equal(byId.get('spoke_wheel_areas')?.head, null);
    const rec = { version: '1.6.0', manifest: {}, acceptance: null, acceptanceSha256: null, networkSha256: installed.sha256, registeredAt: 't', registeredBy: 'a' };
    assert.equal(summarizeVersion(rec, m, { liveVersion: installed.version, installedNetwork: installed.sha256 }).promotable, true);
    assert.equal(summarizeVersion(rec, m, { liveVersion: '1.6.0', installedNetwork: installed.sha256 }).promotable, false, 'live');
    assert.equal(summarizeVersion({ ...rec, networkSha256: 'x' }, m, { liveVersion: installed.version, installedNetwork: installed.sha256 }).promotable, false, 'other network');
  });
});
