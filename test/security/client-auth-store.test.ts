/**
 * The client-JWT `jti` replay check when its store fails: the real service on a real PostgreSQL
 * cluster (test/support/postgres.ts), which is stopped mid-test. A token that cannot be checked is
 * not a bad token, so the answer is 503 with Retry-After, not 401.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { Response } from 'supertest';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import type { PostgresCluster } from '../support/postgres.ts';
import { startPostgres } from '../support/postgres.ts';
import { jwksOf, makeClient, signClientJwt } from './jwt-clients.ts';
import type { TestClient } from './jwt-clients.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, noReferralHook, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const ISS = 'https://ehr-store.example.org';
const DISCOVERY = `${PUBLIC_BASE_URL}/cds-services`;
const HOOK = `${PUBLIC_BASE_URL}/cds-services/${ORDER_SIGN}`;
const RETRY_AFTER_SECONDS = 7;

let cluster: PostgresCluster;
let client: TestClient;
let ts: TestService;

before(async () => {
  cluster = await startPostgres();
  client = await makeClient('ES384');
  const issuers: TrustedIssuer[] = [{ iss: ISS, keys: { kind: 'inline', jwks: jwksOf(client) }, jkuAllowList: [] }];
  ts = await startTestService({ databaseUrl: await cluster.createDatabase('client_auth_store'), retryAfterSeconds: RETRY_AFTER_SECONDS }, issuers);
});

after(async () => {
  await ts.stop();
  await cluster.stop();
});

function discovery(token: string): Promise<Response> {
  return request(ts.service.app).get('/cds-services').set('Authorization', `Bearer ${token}`);
}

/** No log line holds the token or its signature. */
function assertTokenNotLogged(token: string): void {
  const signature = token.split('.')[2] ?? '';
  for (const l of ts.logs) {
    assert.ok(!l.includes(token), 'a log line holds the token');
    assert.ok(!l.includes(signature), 'a log line holds the signature');
  }
}

describe('jti replay check with the store down', () => {
  it('with PostgreSQL up: a token is accepted once, its replay refused with 401', async () => {
    const token = await signClientJwt(client, { iss: ISS, aud: DISCOVERY });
    assert.equal((await discovery(token)).status, 200);
    const replay = await discovery(token);
    assert.equal(replay.status, 401);
    assert.equal(replay.headers['www-authenticate'], 'Bearer');
  });

  it('with PostgreSQL stopped: 503, a transient OperationOutcome and Retry-After on discovery and hooks; logged without the token', async () => {
    await cluster.stop();
    for (const [send, aud] of [
      [(t: string) => discovery(t), DISCOVERY],
      [(t: string) => request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).set('Authorization', `Bearer ${t}`).send(noReferralHook()), HOOK],
    ] as const) {
      const token = await signClientJwt(client, { iss: ISS, aud });
      const res = await send(token);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
      assert.deepEqual(res.body, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'transient', details: { text: 'client authentication is temporarily unavailable; retry later' } }],
      });
      assert.equal(res.headers['retry-after'], String(RETRY_AFTER_SECONDS));
      assert.equal(res.headers['www-authenticate'], undefined, 'no challenge: the token is not at fault');
      assertTokenNotLogged(token);
    }
    const line = ts.logs.filter((l) => l.includes('client authentication unavailable')).at(-1) ?? '';
    assert.match(line, /"level":"error"/);
    assert.match(line, /jti replay check failed/);
    assert.match(line, new RegExp(`"iss":"${ISS}"`));
  });
});
