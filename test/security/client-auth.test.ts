/**
 * CDS Hooks 2.0 "Trusting CDS Clients" through the real service: every rejection case with a real
 * signed (or deliberately unsigned) JWT, and the accepted path for ES384 and RS384, inline JWKS,
 * JWKS URL and allow-listed jku, on discovery, hooks and feedback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { Response } from 'supertest';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import { hmacJwt, jwksOf, makeClient, signClientJwt, unsignedJwt } from './jwt-clients.ts';
import type { SignOptions, TestClient } from './jwt-clients.ts';
import { sendJson, startLoopback } from './loopback.ts';
import type { Loopback } from './loopback.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, noReferralHook, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const ISS_INLINE = 'https://ehr-inline.example.org';
const ISS_URL = 'https://ehr-url.example.org';
const ISS_JKU = 'https://sandbox.example.org';
const ISS_TENANT = 'https://ehr-tenant.example.org';
const DISCOVERY = `${PUBLIC_BASE_URL}/cds-services`;
const HOOK = `${PUBLIC_BASE_URL}/cds-services/${ORDER_SIGN}`;
const FEEDBACK = `${HOOK}/feedback`;

let es: TestClient;
let rs: TestClient;
let jkuClient: TestClient;
let tenantClient: TestClient;
let impostor: TestClient;
let jwksHost: Loopback;
let ts: TestService;

before(async () => {
  [es, rs, jkuClient, tenantClient] = await Promise.all([makeClient('ES384'), makeClient('RS384'), makeClient('ES384'), makeClient('ES384')]);
  // Same kid as the trusted ES384 key, different key: a forged signature.
  impostor = await makeClient('ES384', es.kid);
  jwksHost = await startLoopback((req, res) => {
    if (req.url === '/rs.json') {
      sendJson(res, 200, jwksOf(rs), 'application/jwk-set+json');
    } else if (req.url === '/jku.json') {
      sendJson(res, 200, jwksOf(jkuClient));
    } else {
      sendJson(res, 404, {});
    }
  });
  const issuers: TrustedIssuer[] = [
    { iss: ISS_INLINE, keys: { kind: 'inline', jwks: jwksOf(es) }, jkuAllowList: [] },
    { iss: ISS_URL, keys: { kind: 'url', url: `${jwksHost.origin}/rs.json` }, jkuAllowList: [] },
    { iss: ISS_JKU, jkuAllowList: [`${jwksHost.origin}/jku.json`] },
    { iss: ISS_TENANT, keys: { kind: 'inline', jwks: jwksOf(tenantClient) }, jkuAllowList: [], tenant: 'hospital-a', clientIds: ['ehr-a'] },
  ];
  ts = await startTestService({}, issuers);
});

after(async () => {
  await ts.stop();
  await jwksHost.stop();
});

function discovery(token?: string): Promise<Response> {
  const r = request(ts.service.app).get('/cds-services');
  return token === undefined ? r : r.set('Authorization', `Bearer ${token}`);
}

function hook(token: string): Promise<Response> {
  return request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).set('Authorization', `Bearer ${token}`).send(noReferralHook());
}

/** 401, nothing in the body but "authentication required", a Bearer challenge, and the reason in the log without the token. */
function assertRejected(res: Response, token: string | undefined, reason: RegExp): void {
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.equal(res.headers['www-authenticate'], 'Bearer');
  assert.deepEqual(res.body, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'security', details: { text: 'authentication required' } }] });
  const line = ts.logs.filter((l) => l.includes('client authentication failed')).at(-1) ?? '';
  assert.match(line, reason);
  if (token) {
    const signature = token.split('.')[2] ?? '';
    for (const l of ts.logs) {
      assert.ok(!l.includes(token), 'a log line holds the token');
      assert.ok(signature.length < 16 || !l.includes(signature), 'a log line holds the signature');
    }
  }
}

const valid = (aud: string | string[], o: Partial<SignOptions> = {}): SignOptions => ({ iss: ISS_INLINE, aud, ...o });

describe('accepted client JWTs', () => {
  it('ES384 with an inline JWKS: discovery, hook and feedback', async () => {
    const d = await discovery(await signClientJwt(es, valid(DISCOVERY)));
    assert.equal(d.status, 200);
    assert.ok(Array.isArray(d.body.services));
    const h = await hook(await signClientJwt(es, valid(HOOK)));
    assert.equal(h.status, 200, JSON.stringify(h.body));
    assert.deepEqual(h.body, { cards: [] });
    const f = await request(ts.service.app)
      .post(`/cds-services/${ORDER_SIGN}/feedback`)
      .set('Authorization', `Bearer ${await signClientJwt(es, valid(FEEDBACK))}`)
      .send({ feedback: [{ card: 'c1', outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }], outcomeTimestamp: new Date().toISOString() }] });
    assert.equal(f.status, 200, JSON.stringify(f.body));
  });

  it('RS384 with the JWKS fetched from the issuer URL', async () => {
    const res = await discovery(await signClientJwt(rs, { iss: ISS_URL, aud: DISCOVERY }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(jwksHost.seen.some((s) => s.url === '/rs.json'));
  });

  it('ES384 with a jku on the issuer allow-list (the official sandbox signs this way)', async () => {
    const res = await discovery(await signClientJwt(jkuClient, { iss: ISS_JKU, aud: DISCOVERY, jku: `${jwksHost.origin}/jku.json` }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('aud as an array holding the endpoint URL', async () => {
    assert.equal((await discovery(await signClientJwt(es, valid([HOOK, DISCOVERY])))).status, 200);
  });

  it('tenant and client_id matching the issuer configuration', async () => {
    const res = await discovery(await signClientJwt(tenantClient, { iss: ISS_TENANT, aud: DISCOVERY, tenant: 'hospital-a', sub: 'ehr-a' }));
    assert.equal(res.status, 200);
  });

  it('health, readiness and metrics stay open (probes carry no client JWT)', async () => {
    assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    assert.equal((await request(ts.service.app).get('/readyz')).status, 200);
  });
});

describe('rejected requests: 401 without detail', () => {
  it('no Authorization header, on discovery, hook and feedback', async () => {
    assertRejected(await discovery(), undefined, /no Authorization header/);
    assertRejected(await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(noReferralHook()), undefined, /no Authorization header/);
    assertRejected(await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}/feedback`).send({ feedback: [] }), undefined, /no Authorization header/);
  });

  it('a non-Bearer scheme', async () => {
    const res = await request(ts.service.app).get('/cds-services').set('Authorization', 'Basic dXNlcjpwYXNz');
    assertRejected(res, undefined, /scheme is not Bearer/);
  });

  it('a token that is not a JWT', async () => {
    assertRejected(await discovery('not-a-jwt'), 'not-a-jwt', /not a signed compact JWT/);
    const junk = 'eyJhbGciOiJFUzM4NCJ9.@@@.sig';
    assertRejected(await discovery(junk), junk, /not a signed compact JWT/);
  });

  it('alg none, with an empty and with a made-up signature', async () => {
    const payload = { iss: ISS_INLINE, aud: DISCOVERY, sub: 'x', jti: 'n1', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
    const empty = unsignedJwt({ alg: 'none', typ: 'JWT', kid: es.kid }, payload);
    assertRejected(await discovery(empty), empty, /not a signed compact JWT/);
    const fake = unsignedJwt({ alg: 'none', typ: 'JWT', kid: es.kid }, payload, 'c2ln');
    assertRejected(await discovery(fake), fake, /algorithm none is not accepted/);
  });

  it('HMAC (HS384, HS256) keyed with the public key: algorithm confusion', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(es.publicJwk));
    for (const alg of ['HS384', 'HS256'] as const) {
      const token = await hmacJwt(secret, alg, es.kid, ISS_INLINE, DISCOVERY);
      assertRejected(await discovery(token), token, new RegExp(`algorithm ${alg} is not accepted`));
    }
  });

  it('asymmetric algorithms other than ES384 and RS384', async () => {
    for (const alg of ['ES256', 'RS256', 'PS384'] as const) {
      const other = await makeClient(alg);
      const token = await signClientJwt(other, valid(DISCOVERY));
      assertRejected(await discovery(token), token, new RegExp(`algorithm ${alg} is not accepted`));
    }
  });

  it('an issuer that is not trusted', async () => {
    const token = await signClientJwt(es, valid(DISCOVERY, { iss: 'https://evil.example.org' }));
    assertRejected(await discovery(token), token, /issuer is not trusted/);
  });

  it('a signature by another key under the trusted kid', async () => {
    const token = await signClientJwt(impostor, valid(DISCOVERY));
    assertRejected(await discovery(token), token, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  it('an unknown kid, and no kid at all', async () => {
    const unknown = await signClientJwt(es, valid(DISCOVERY, { kid: 'no-such-key' }));
    assertRejected(await discovery(unknown), unknown, /ERR_JWKS_NO_MATCHING_KEY/);
    const none = await signClientJwt(es, valid(DISCOVERY, { kid: null }));
    assertRejected(await discovery(none), none, /no kid/);
  });

  it('a jku that is not on the allow-list is never fetched', async () => {
    const before = jwksHost.seen.length;
    const evil = await signClientJwt(es, valid(DISCOVERY, { jku: `${jwksHost.origin}/evil.json` }));
    assertRejected(await discovery(evil), evil, /jku is not on the issuer allow-list/);
    // Allow-listed for another issuer only.
    const crossed = await signClientJwt(jkuClient, valid(DISCOVERY, { jku: `${jwksHost.origin}/jku.json` }));
    assertRejected(await discovery(crossed), crossed, /jku is not on the issuer allow-list/);
    assert.equal(jwksHost.seen.length, before, 'no JWKS request was made');
  });

  it('an issuer with only a jku allow-list and a token without jku', async () => {
    const token = await signClientJwt(jkuClient, { iss: ISS_JKU, aud: DISCOVERY });
    assertRejected(await discovery(token), token, /no jku and the issuer has no configured key set/);
  });

  it('aud for another endpoint, another host, or with a trailing slash', async () => {
    for (const aud of [HOOK, 'https://other.example.org/cds-services', `${DISCOVERY}/`, 'http://cds.example.org/cds-services']) {
      const token = await signClientJwt(es, valid(aud));
      assertRejected(await discovery(token), token, /aud/);
    }
    const forDiscovery = await signClientJwt(es, valid(DISCOVERY));
    assertRejected(await hook(forDiscovery), forDiscovery, /aud/);
  });

  it('expired, issued in the future, and too old', async () => {
    const expired = await signClientJwt(es, valid(DISCOVERY, { iatOffset: -200, expOffset: -100 }));
    assertRejected(await discovery(expired), expired, /ERR_JWT_EXPIRED/);
    const future = await signClientJwt(es, valid(DISCOVERY, { iatOffset: 600, expOffset: 700 }));
    assertRejected(await discovery(future), future, /iat/);
    const old = await signClientJwt(es, valid(DISCOVERY, { iatOffset: -3600, expOffset: 3600 }));
    assertRejected(await discovery(old), old, /iat/);
  });

  it('within the clock skew is still fine', async () => {
    const res = await discovery(await signClientJwt(es, valid(DISCOVERY, { iatOffset: 10, expOffset: -10 })));
    assert.equal(res.status, 200);
  });

  it('missing required claims: jti, sub, exp, iat', async () => {
    for (const [o, claim] of [
      [{ jti: null }, 'jti'],
      [{ sub: null }, 'sub'],
      [{ expOffset: null }, 'exp'],
      [{ iatOffset: null }, 'iat'],
    ] as const) {
      const token = await signClientJwt(es, valid(DISCOVERY, o));
      assertRejected(await discovery(token), token, new RegExp(`missing required .{0,2}${claim}.{0,2} claim`));
    }
  });

  it('a replayed jti', async () => {
    const token = await signClientJwt(es, valid(DISCOVERY));
    assert.equal((await discovery(token)).status, 200);
    assertRejected(await discovery(token), token, /replay/);
    const sameJti = await signClientJwt(es, valid(DISCOVERY, { jti: 'fixed-jti-1' }));
    assert.equal((await discovery(sameJti)).status, 200);
    const again = await signClientJwt(es, valid(DISCOVERY, { jti: 'fixed-jti-1' }));
    assertRejected(await discovery(again), again, /replay/);
  });

  it('tenant or client_id other than configured', async () => {
    const wrongTenant = await signClientJwt(tenantClient, { iss: ISS_TENANT, aud: DISCOVERY, tenant: 'hospital-b', sub: 'ehr-a' });
    assertRejected(await discovery(wrongTenant), wrongTenant, /tenant does not match/);
    const noTenant = await signClientJwt(tenantClient, { iss: ISS_TENANT, aud: DISCOVERY, sub: 'ehr-a' });
    assertRejected(await discovery(noTenant), noTenant, /tenant does not match/);
    const wrongSub = await signClientJwt(tenantClient, { iss: ISS_TENANT, aud: DISCOVERY, tenant: 'hospital-a', sub: 'someone-else' });
    assertRejected(await discovery(wrongSub), wrongSub, /sub \(client_id\) is not allowed/);
  });

  it('a typ other than JWT, and an oversized token', async () => {
    const typ = await signClientJwt(es, valid(DISCOVERY, { typ: 'at+jwt' }));
    assertRejected(await discovery(typ), typ, /typ/);
    const big = await signClientJwt(es, valid(DISCOVERY, { extra: { pad: 'x'.repeat(9000) } }));
    assertRejected(await discovery(big), big, /not a signed compact JWT/);
  });

  it('the hook body is not parsed for an unauthenticated caller', async () => {
    const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).set('content-type', 'application/json').send('{not json');
    assertRejected(res, undefined, /no Authorization header/);
  });
});
