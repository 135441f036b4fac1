/**
 * CORS for browser-based CDS clients on discovery, hooks and feedback: the preflight is answered
 * without a JWT for configured origins only, and real answers (401s included) carry the headers a
 * browser needs to read them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { jwksOf, makeClient, signClientJwt } from './jwt-clients.ts';
import type { TestClient } from './jwt-clients.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const ALLOWED = 'https://ehr.example.org';
const ISS = 'https://ehr.example.org/issuer';
let client: TestClient;
let ts: TestService;

before(async () => {
  client = await makeClient('ES384');
  ts = await startTestService({ corsOrigins: [ALLOWED] }, [{ iss: ISS, keys: { kind: 'inline', jwks: jwksOf(client) }, jkuAllowList: [] }]);
});
after(() => ts.stop());

describe('CORS', () => {
  for (const path of ['/cds-services', `/cds-services/${ORDER_SIGN}`, `/cds-services/${ORDER_SIGN}/feedback`]) {
    it(`answers the preflight for ${path} from a configured origin, without a JWT`, async () => {
      const res = await request(ts.service.app)
        .options(path)
        .set('Origin', ALLOWED)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type');
      assert.equal(res.status, 204);
      assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
      assert.match(res.headers['access-control-allow-headers'] ?? '', /Authorization/);
      assert.match(res.headers['access-control-allow-headers'] ?? '', /Content-Type/);
      assert.match(res.headers['access-control-allow-methods'] ?? '', /POST/);
      assert.match(res.headers.vary ?? '', /Origin/);
    });
  }

  it('gives another origin no CORS headers, on the preflight or the request', async () => {
    const pre = await request(ts.service.app).options('/cds-services').set('Origin', 'https://evil.example.org').set('Access-Control-Request-Method', 'GET');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.equal(pre.headers['access-control-allow-headers'], undefined);
    const res = await request(ts.service.app).get('/cds-services').set('Origin', 'https://evil.example.org');
    assert.equal(res.status, 401);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('lets a browser read both an accepted answer and a 401', async () => {
    const token = await signClientJwt(client, { iss: ISS, aud: `${PUBLIC_BASE_URL}/cds-services` });
    const ok = await request(ts.service.app).get('/cds-services').set('Origin', ALLOWED).set('Authorization', `Bearer ${token}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED);
    const denied = await request(ts.service.app).get('/cds-services').set('Origin', ALLOWED);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], ALLOWED);
    assert.match(denied.headers['access-control-expose-headers'] ?? '', /WWW-Authenticate/);
  });

  it('keeps the security headers', async () => {
    const res = await request(ts.service.app).get('/healthz');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-powered-by'], undefined);
  });
});
