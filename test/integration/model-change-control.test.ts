/**
 * Change control through the HTTP API, in production mode (annotator identity provider tokens with
 * the model admin role): register a learned candidate, promote it, roll back; every refusal
 * (401, 403, 404, 409, 422); hooks answer with the live version (card, report Device, the learned
 * pattern assessed); /readyz, /model-card and the model info metric follow; the audit records who,
 * when and the acceptance digest; a restart keeps the promoted version.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import { canonicalDigest } from '../../src/common/canonical-json.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, DEFAULT_IMAGE_GATE } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { refusalCodes } from '../../src/registry/check-candidate.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { LEARNED_PATTERN, installedJson, learnedCandidate } from '../registry/candidate.ts';
import { answeredBy } from '../registry/hook-versions.ts';
import { jwksOf, makeClient, signClientJwt } from '../security/jwt-clients.ts';
import type { TestClient } from '../security/jwt-clients.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, orderSignHook } from '../security/service.ts';

const IDP = 'https://idp.hospital.example.org/realms/it';
const INSTALLED = String(installedJson.version);
const CANDIDATE = '1.6.0-ulceration';

let dir = '';
let storePath = '';
let store: SharedStore;
let service: Service;
let idp: TestClient;
let image: Buffer;
const logs: string[] = [];
const candidate = learnedCandidate(CANDIDATE, { since: '2026-12-01' });

async function start(s: SharedStore, issuers: readonly TrustedIssuer[]): Promise<Service> {
  return createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: PUBLIC_BASE_URL, logLevel: 'silent' },
    {
      log: createLogger((line) => logs.push(line), 'info'),
      store: s,
      annotatorIssuers: issuers,
      gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
    },
  );
}

before(async () => {
  idp = await makeClient('RS256');
  dir = await mkdtemp(join(tmpdir(), 'bcc-models-'));
  storePath = join(dir, 'store.sqlite');
  store = await openSqliteStore(storePath);
  service = await start(store, [{ iss: IDP, keys: { kind: 'inline', jwks: jwksOf(idp) }, jkuAllowList: [] }]);
  image = await lesionJpeg(400, 300, 81);
});

after(async () => {
  await service.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function token(sub: string, roles: readonly string[]): Promise<string> {
  return signClientJwt(idp, { iss: IDP, aud: PUBLIC_BASE_URL, sub, jti: null, extra: { roles } });
}
const admin = (): Promise<string> => token('it-jane', ['bcc-model-admin']);

async function hook(s: Service = service): Promise<ReturnType<typeof answeredBy>> {
  const res = await request(s.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images: [image] }));
  assert.equal(res.status, 200, res.text);
  return answeredBy(res.body);
}

describe('model change control over HTTP (production)', () => {
  it('starts with the installed manifest registered and live, audited as install by system', async () => {
    const models = await request(service.app).get('/models');
    assert.equal(models.status, 200);
    assert.equal(models.body.live.version, INSTALLED);
    assert.equal(models.body.installedNetwork, installedJson.sha256);
    assert.deepEqual(models.body.versions.map((v: { version: string; live: boolean; promotable: boolean; registeredBy: string }) => [v.version, v.live, v.promotable, v.registeredBy]), [[INSTALLED, true, false, 'system']]);
    const ulceration = models.body.versions[0].patterns.find((p: { id: string }) => p.id === LEARNED_PATTERN);
    assert.deepEqual(ulceration, { id: LEARNED_PATTERN, display: 'Ulceration', role: 'positive', assessed: false, since: null, head: null });
    const audit = await request(service.app).get('/models/audit');
    assert.deepEqual(audit.body.entries.map((e: { action: string; version: string; actor: string }) => [e.action, e.version, e.actor]), [['install', INSTALLED, 'system']]);
    const first = await hook();
    assert.deepEqual([first.card, first.report], [INSTALLED, INSTALLED]);
    assert.match(first.notAssessed, /Ulceration/);
  });

  it('refuses changes without a token (401, WWW-Authenticate) and without the admin role (403); nothing registered', async () => {
    const none = await request(service.app).post('/models').send(candidate);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(none.body.resourceType, 'OperationOutcome');
    const annotatorOnly = await token('dr-jones', ['annotator']);
    const notAdmin = await request(service.app).post(`/models/${INSTALLED}/promote`).set('Authorization', `Bearer ${annotatorOnly}`).send({});
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.body.issue[0].code, 'forbidden');
    assert.equal((await request(service.app).post('/models/rollback').set('Authorization', 'Bearer not-a-jwt').send({})).status, 401);
    assert.ok(!logs.some((l) => l.includes(annotatorOnly)), 'tokens are never logged');
    assert.equal((await store.listVersions()).length, 1);
  });

  it('refuses a bad candidate with 422 naming each reason', async () => {
    const t = await admin();
    const tampered = { manifest: candidate.manifest, acceptance: { ...candidate.acceptance, positives: 999 } };
    const res = await request(service.app).post('/models').set('Authorization', `Bearer ${t}`).send(tampered);
    assert.equal(res.status, 422, res.text);
    assert.deepEqual(refusalCodes(res.body), ['digest-mismatch']);
    const refused = learnedCandidate('1.6.1', { decision: 'refused' });
    const res2 = await request(service.app).post('/models').set('Authorization', `Bearer ${t}`).send(refused);
    assert.equal(res2.status, 422);
    assert.deepEqual(refusalCodes(res2.body), ['decision-refused', 'decision-refused']);
    const installedAgain = await request(service.app).post('/models').set('Authorization', `Bearer ${t}`).send({ manifest: installedJson, acceptance: candidate.acceptance });
    assert.deepEqual(refusalCodes(installedAgain.body).sort(), ['duplicate-version', 'no-learning']);
    const missing = await request(service.app).post('/models').set('Authorization', `Bearer ${t}`).send({ manifest: candidate.manifest });
    assert.equal(missing.status, 400, 'the body needs both parts');
    assert.equal((await store.listVersions()).length, 1);
  });

  it('registers a candidate (201, not live); hooks still answer with the installed version', async () => {
    const res = await request(service.app).post('/models').set('Authorization', `Bearer ${await admin()}`).send(candidate);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body, { version: CANDIDATE, live: false });
    const models = await request(service.app).get('/models');
    const v = models.body.versions.find((x: { version: string }) => x.version === CANDIDATE);
    assert.equal(v.live, false);
    assert.equal(v.promotable, true);
    assert.equal(v.registeredBy, 'it-jane');
    assert.equal(v.acceptanceSha256, canonicalDigest(candidate.acceptance));
    assert.deepEqual(v.patterns.find((p: { id: string }) => p.id === LEARNED_PATTERN), { id: LEARNED_PATTERN, display: 'Ulceration', role: 'positive', assessed: true, since: '2026-12-01', head: 'learned' });
    assert.equal(models.body.live.version, INSTALLED);
    const dup = await request(service.app).post('/models').set('Authorization', `Bearer ${await admin()}`).send(candidate);
    assert.equal(dup.status, 422);
    assert.deepEqual(refusalCodes(dup.body), ['duplicate-version']);
    assert.equal((await hook()).card, INSTALLED);
  });

  it('promotes: 404 unknown, 200 switches at once (card, report, learned pattern, readiness, model card, metrics), 409 when already live', async () => {
    const t = await admin();
    const unknown = await request(service.app).post('/models/9.9.9/promote').set('Authorization', `Bearer ${t}`).send({});
    assert.equal(unknown.status, 404);
    const res = await request(service.app).post(`/models/${CANDIDATE}/promote`).set('Authorization', `Bearer ${t}`).send({ reason: 'AUC lower bound 0.72 over 0.70; approved by the derm board' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { live: CANDIDATE, from: INSTALLED });
    const answered = await hook();
    assert.equal(answered.card, CANDIDATE);
    assert.equal(answered.report, CANDIDATE);
    assert.doesNotMatch(answered.notAssessed, /Ulceration/, 'the learned pattern is assessed');
    const issued = (await store.listCardOutcomes()).unanswered.at(-1);
    assert.equal(issued?.modelVersion, CANDIDATE, 'the issued card row records the version');
    assert.equal((await request(service.app).get('/readyz')).body.model.version, CANDIDATE);
    const card = await request(service.app).get('/model-card');
    assert.equal(card.body.version, CANDIDATE);
    assert.equal(card.body.live.version, CANDIDATE);
    assert.equal(card.body.patterns.find((p: { id: string }) => p.id === LEARNED_PATTERN).assessedSince, '2026-12-01');
    const metrics = (await request(service.app).get('/metrics')).text;
    assert.match(metrics, new RegExp(`bcc_cds_model_info\\{[^}]*version="${CANDIDATE}"[^}]*\\} 1`));
    // An info metric: only the live version has a series, and its value is 1.
    assert.doesNotMatch(metrics, new RegExp(`bcc_cds_model_info\\{[^}]*version="${INSTALLED}"`));
    const again = await request(service.app).post(`/models/${CANDIDATE}/promote`).set('Authorization', `Bearer ${t}`).send();
    assert.equal(again.status, 409);
    assert.equal(again.body.issue[0].code, 'conflict');
  });

  it('rolls back to the version live before (one call), and to a named one; 404 for an unknown target', async () => {
    const t = await admin();
    const res = await request(service.app).post('/models/rollback').set('Authorization', `Bearer ${t}`).send({ reason: 'clinic reported odd ulceration calls' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { live: INSTALLED, from: CANDIDATE });
    assert.deepEqual(await hook().then((a) => [a.card, a.report]), [INSTALLED, INSTALLED]);
    assert.equal((await request(service.app).post('/models/rollback').set('Authorization', `Bearer ${t}`).send({ to: '0.0.1' })).status, 404);
    const named = await request(service.app).post('/models/rollback').set('Authorization', `Bearer ${t}`).send({ to: CANDIDATE });
    assert.deepEqual(named.body, { live: CANDIDATE, from: INSTALLED });
  });

  it('audits every change newest first: action, version, from, actor, time, acceptance digest, reason', async () => {
    const res = await request(service.app).get('/models/audit');
    const digest = canonicalDigest(candidate.acceptance);
    assert.deepEqual(
      res.body.entries.map((e: Record<string, unknown>) => [e.action, e.version, e.fromVersion, e.actor, e.acceptanceSha256]),
      [
        ['rollback', CANDIDATE, INSTALLED, 'it-jane', digest],
        ['rollback', INSTALLED, CANDIDATE, 'it-jane', null],
        ['promote', CANDIDATE, INSTALLED, 'it-jane', digest],
        ['register', CANDIDATE, null, 'it-jane', digest],
        ['install', INSTALLED, null, 'system', null],
      ],
    );
    const [latest] = res.body.entries as { id: number; at: string; reason: string | null }[];
    assert.ok(latest && Number.isInteger(latest.id) && !Number.isNaN(Date.parse(latest.at)));
    assert.equal(res.body.entries[2].reason, 'AUC lower bound 0.72 over 0.70; approved by the derm board');
  });

  it('a restart keeps the promoted version (same network); the installed one is not registered twice', async () => {
    const restarted = await start(store, []);
    try {
      assert.equal(restarted.model.manifest.version, CANDIDATE);
      assert.equal((await hook(restarted)).card, CANDIDATE);
      assert.equal((await store.listAudit()).filter((e) => e.action === 'install').length, 1);
      // Without identity providers the admin API is off: 403 saying so; the lists stay public.
      const off = await request(restarted.app).post('/models/rollback').send({});
      assert.equal(off.status, 403);
      assert.match(off.body.issue[0].details.text, /model administration is off/);
      assert.equal((await request(restarted.app).get('/models')).body.live.version, CANDIDATE);
    } finally {
      await restarted.close();
    }
  });
});
