/**
 * Who may annotate in production: a user token from a configured identity provider carrying the
 * annotator role, through the real service (createService, production mode, real model, real
 * SQLite store). Every refusal is 401 (or 403 for a valid token without the role) with nothing
 * stored; the named demo annotators of the sandbox do not exist here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { Response } from 'supertest';
import { createStaffJwtVerifier, rolesOf } from '../../src/cds/auth/staff-jwt.ts';
import { createKeyStore } from '../../src/cds/auth/key-store.ts';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, DEFAULT_IMAGE_GATE } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { createReportStore } from '../../src/viewer/report-store.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { hmacJwt, jwksOf, makeClient, signClientJwt, unsignedJwt } from './jwt-clients.ts';
import type { SignOptions, TestClient } from './jwt-clients.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, orderSignHook, startTestService } from './service.ts';

const IDP = 'https://idp.hospital.example.org/realms/derm';
const OTHER_IDP = 'https://idp.elsewhere.example.org';

let dir = '';
let store: SharedStore;
let service: Service;
let idp: TestClient;
let es: TestClient;
let impostor: TestClient;
let stranger: TestClient;
let reportId = '';
const logs: string[] = [];

before(async () => {
  [idp, es, stranger] = await Promise.all([makeClient('RS256'), makeClient('ES384'), makeClient('RS256')]);
  impostor = await makeClient('RS256', idp.kid);
  dir = await mkdtemp(join(tmpdir(), 'bcc-annotator-'));
  store = await openSqliteStore(join(dir, 'store.sqlite'));
  const annotatorIssuers: TrustedIssuer[] = [
    { iss: IDP, keys: { kind: 'inline', jwks: jwksOf(idp, es) }, jkuAllowList: [] },
    { iss: OTHER_IDP, keys: { kind: 'inline', jwks: jwksOf(stranger) }, jkuAllowList: [], clientIds: ['only-this-user'] },
  ];
  service = await createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: PUBLIC_BASE_URL, logLevel: 'silent' },
    {
      log: createLogger((line) => logs.push(line), 'info'),
      store,
      annotatorIssuers,
      // The synthetic drawings are out of distribution for the model's own gate (as in test/integration).
      gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
      // No onReport: createService keeps every finished report itself (in the shared store).
    },
  );
  const hook = await request(service.app)
    .post(`/cds-services/${ORDER_SIGN}`)
    .send(orderSignHook({ images: [await lesionJpeg(400, 300, 71)] }));
  assert.equal(hook.status, 200, JSON.stringify(hook.body));
  reportId = (await createReportStore(store).queue())[0]?.reportId ?? '';
  assert.ok(reportId);
});

after(async () => {
  await service.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const ANNOTATION = (): Record<string, string> => ({ report: reportId, image: 'Media/m0', pattern: 'spoke_wheel_areas', value: 'present' });

function token(o: Partial<SignOptions> = {}, client: TestClient = idp): Promise<string> {
  return signClientJwt(client, { iss: IDP, aud: PUBLIC_BASE_URL, sub: 'dr-jones', jti: null, extra: { roles: ['annotator'], name: 'Dr Jones' }, ...o });
}

function post(bearer: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  const r = request(service.app).post('/annotations').set(headers);
  return (bearer === undefined ? r : r.set('Authorization', `Bearer ${bearer}`)).send(ANNOTATION());
}

/** The status, a bare OperationOutcome, the reason in the log without the token, and the store as it was. */
async function assertRefused(send: () => Promise<Response>, status: 401 | 403, reason: RegExp, tok?: string): Promise<void> {
  const before = await store.listAnnotations();
  const res = await send();
  assert.equal(res.status, status, JSON.stringify(res.body));
  if (status === 401) {
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(res.body, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'security', details: { text: 'authentication required' } }] });
  } else {
    assert.equal(res.body.issue[0].code, 'forbidden');
  }
  const line = logs.filter((l) => l.includes('annotator authentication failed')).at(-1) ?? '';
  assert.match(line, reason);
  if (tok) {
    assert.ok(!logs.some((l) => l.includes(tok)), 'a log line holds the token');
  }
  assert.deepEqual(await store.listAnnotations(), before, 'nothing stored');
}

describe('annotation API in production: annotator JWTs', () => {
  it('says the viewer must send a bearer token, and offers no demo annotators', async () => {
    const res = await request(service.app).get('/annotations/annotators');
    assert.deepEqual(res.body, { authentication: 'bearer', annotators: [] });
  });

  it('an annotator token writes, lists and exports; identity = iss, sub and name; the same token serves many calls', async () => {
    const t = await token();
    const res = await post(t);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.annotation.annotator, { issuer: IDP, id: 'dr-jones', name: 'Dr Jones' });
    assert.equal(res.body.annotation.model.version, service.model.manifest.version);
    const es384 = await post(await token({ sub: 'dr-smith', extra: { roles: 'viewer annotator' } }, es));
    assert.equal(es384.status, 201, 'ES384 key, roles as a space-separated string, no name');
    assert.deepEqual(es384.body.annotation.annotator, { issuer: IDP, id: 'dr-smith' });
    const listed = await request(service.app).get('/annotations').query({ report: reportId }).set('Authorization', `Bearer ${t}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.annotations.map((a: { annotator: { id: string } }) => a.annotator.id),
      ['dr-jones', 'dr-smith'],
    );
    const csv = await request(service.app).get('/annotations/export.csv').set('Authorization', `Bearer ${t}`);
    assert.equal(csv.text, 'image,annotator,label,value\nMedia/m0,dr-jones,spoke_wheel_areas,1\nMedia/m0,dr-smith,spoke_wheel_areas,1\n');
    const fhir = await request(service.app).get('/annotations/export.fhir').set('Authorization', `Bearer ${t}`);
    assert.equal(fhir.status, 200);
    assert.deepEqual(fhir.body.entry[0].resource.performer, [{ type: 'Practitioner', identifier: { system: IDP, value: 'dr-jones' }, display: 'Dr Jones' }]);
  });

  it('401 without a usable token from a configured issuer, nothing stored', async () => {
    await assertRefused(() => post(undefined), 401, /no Authorization header/);
    await assertRefused(() => post(undefined, { 'X-Demo-Annotator': 'derm-a' }), 401, /no Authorization header/);
    await assertRefused(() => post(undefined, { Authorization: 'Basic ZGVybTpkZXJt' }), 401, /not Bearer/);
    await assertRefused(() => post('not.a.jwt'), 401, /header is not base64url JSON|not a signed compact JWT/);
    const called = await token({ aud: `${PUBLIC_BASE_URL}/annotations` });
    await assertRefused(() => post(called), 401, /aud/, called);
    const expired = await token({ iatOffset: -600, expOffset: -120 });
    await assertRefused(() => post(expired), 401, /exp/, expired);
    const noExp = await token({ expOffset: null });
    await assertRefused(() => post(noExp), 401, /exp/, noExp);
    const noSub = await token({ sub: null });
    await assertRefused(() => post(noSub), 401, /sub/, noSub);
    const unknownIssuer = await token({ iss: 'https://idp.attacker.example.org' });
    await assertRefused(() => post(unknownIssuer), 401, /not a configured annotator issuer/, unknownIssuer);
    const forged = await token({}, impostor);
    await assertRefused(() => post(forged), 401, /signature/, forged);
    const hmac = await hmacJwt(randomBytes(32), 'HS256', idp.kid, IDP, PUBLIC_BASE_URL);
    await assertRefused(() => post(hmac), 401, /algorithm HS256 is not accepted/, hmac);
    const none = unsignedJwt({ alg: 'none', kid: idp.kid }, { iss: IDP, sub: 'dr-jones', aud: PUBLIC_BASE_URL, exp: Math.floor(Date.now() / 1000) + 60, roles: ['annotator'] }, 'x');
    await assertRefused(() => post(none), 401, /algorithm none is not accepted/, none);
    const notListed = await token({ iss: OTHER_IDP, sub: 'someone-else' }, stranger);
    await assertRefused(() => post(notListed), 401, /not on the issuer allow-list/, notListed);
    const wrongKeyForIssuer = await token({ iss: OTHER_IDP, sub: 'only-this-user' }, idp);
    await assertRefused(() => post(wrongKeyForIssuer), 401, /no applicable key|JWKSNoMatchingKey|signature/, wrongKeyForIssuer);
  });

  it('403 for a valid token without the annotator role, nothing stored', async () => {
    const viewer = await token({ extra: { roles: ['viewer'] } });
    await assertRefused(() => post(viewer), 403, /no annotator role in roles/, viewer);
    const elsewhere = await token({ extra: { groups: ['annotator'] } });
    await assertRefused(() => post(elsewhere), 403, /no annotator role/, elsewhere);
    const lookalike = await token({ extra: { roles: 'annotator-lead' } });
    await assertRefused(() => post(lookalike), 403, /no annotator role/, lookalike);
  });

  it('lists and exports need the same: 401 without a token, 403 without the role', async () => {
    await assertRefused(() => request(service.app).get('/annotations').query({ report: reportId }), 401, /no Authorization header/);
    await assertRefused(() => request(service.app).get('/annotations/export.fhir'), 401, /no Authorization header/);
    const viewer = await token({ extra: { roles: ['viewer'] } });
    await assertRefused(() => request(service.app).get('/annotations/export.csv').set('Authorization', `Bearer ${viewer}`), 403, /no annotator role/);
  });

  it('finds roles at a dotted path (Keycloak realm_access.roles) or in a space-separated string', async () => {
    assert.deepEqual(rolesOf({ realm_access: { roles: ['annotator', 7] } }, 'realm_access.roles'), ['annotator']);
    assert.deepEqual(rolesOf({ scope: 'openid annotator' }, 'scope'), ['openid', 'annotator']);
    assert.deepEqual(rolesOf({ roles: { annotator: true } }, 'roles'), []);
    assert.deepEqual(rolesOf({ realm_access: 'annotator' }, 'realm_access.roles'), []);
    const verifier = createStaffJwtVerifier(
      { issuers: [{ iss: IDP, keys: { kind: 'inline', jwks: jwksOf(idp) }, jkuAllowList: [] }], audience: 'bcc-cds-viewer', roleClaim: 'realm_access.roles', role: 'bcc-annotator', clockSkewSeconds: 30 },
      { keys: createKeyStore() },
    );
    const ok = await verifier.verify(await token({ aud: 'bcc-cds-viewer', extra: { realm_access: { roles: ['bcc-annotator'] } } }));
    assert.deepEqual(ok, { ok: true, annotator: { issuer: IDP, id: 'dr-jones' } });
    const flat = await verifier.verify(await token({ aud: 'bcc-cds-viewer', extra: { roles: ['bcc-annotator'] } }));
    assert.equal(flat.ok ? 'ok' : flat.status, 403);
  });

  it('keeps the report of a hook it answers without any onReport, so an annotator can annotate it (201)', async () => {
    const hook = await request(service.app)
      .post(`/cds-services/${ORDER_SIGN}`)
      .send(orderSignHook({ referralId: 'sr-kept', images: [await lesionJpeg(400, 300, 72)] }));
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
    const entry = (await service.store.latestReportPerReferral()).find((e) => e.referral === 'ServiceRequest/sr-kept');
    assert.ok(entry, 'the hook\'s report is kept in the shared store');
    const kept = await service.store.tryGetReport(entry.reportId);
    assert.deepEqual(kept?.viewer.images.map((i) => i.source), ['Media/m0']);
    const res = await request(service.app)
      .post('/annotations')
      .set('Authorization', `Bearer ${await token({ sub: 'dr-kept' })}`)
      .send({ report: entry.reportId, image: 'Media/m0', pattern: 'ulceration', value: 'absent' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.annotation.reportId, entry.reportId);
    assert.equal(res.body.annotation.referral, 'ServiceRequest/sr-kept');
  });
});

describe('annotation API in production without annotator issuers', () => {
  it('is off: every call 401, the demo header included', async () => {
    const ts = await startTestService();
    try {
      const dir = await request(ts.service.app).get('/annotations/annotators');
      assert.deepEqual(dir.body, { authentication: 'off', annotators: [] });
      const res = await request(ts.service.app).post('/annotations').set('X-Demo-Annotator', 'derm-a').send({ report: 'r', image: 'Media/m0', pattern: 'ulceration', value: 'present' });
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(await ts.service.store.listAnnotations(), []);
      assert.match(ts.logs.filter((l) => l.includes('annotator authentication failed')).at(-1) ?? '', /ANNOTATOR_ISSUERS_FILE/);
    } finally {
      await ts.stop();
    }
  });
});
