/**
 * The rate limit when its store fails: the real service on a real PostgreSQL cluster
 * (test/support/postgres.ts), which is stopped mid-test. A hit that cannot be counted is refused
 * (fail closed) as the service's other transient faults are: 503 with Retry-After, not 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { PostgresCluster } from '../support/postgres.ts';
import { startPostgres } from '../support/postgres.ts';
import { ORDER_SIGN, noReferralHook, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const RETRY_AFTER_SECONDS = 7;
/** Credentials a caller may send: neither may reach the log. */
const BEARER = 'rate-limit-store-test-bearer-0123456789';
const FHIR_TOKEN = 'rate-limit-store-test-fhir-token-0123456789';

let cluster: PostgresCluster;
let ts: TestService;

before(async () => {
  cluster = await startPostgres();
  ts = await startTestService({ databaseUrl: await cluster.createDatabase('rate_limit_store'), rateLimitRequests: 100, retryAfterSeconds: RETRY_AFTER_SECONDS });
});

after(async () => {
  await ts.stop();
  await cluster.stop();
});

function hook(): request.Test {
  return request(ts.service.app)
    .post(`/cds-services/${ORDER_SIGN}`)
    .set('Authorization', `Bearer ${BEARER}`)
    .send({ ...noReferralHook(), fhirAuthorization: { access_token: FHIR_TOKEN, token_type: 'Bearer' } });
}

function feedback(): request.Test {
  return request(ts.service.app)
    .post(`/cds-services/${ORDER_SIGN}/feedback`)
    .set('Authorization', `Bearer ${BEARER}`)
    .send({ feedback: [] });
}

describe('rate limit with the store down', () => {
  it('with PostgreSQL up: hooks are counted and answered', async () => {
    const res = await hook();
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { cards: [] });
  });

  it('with PostgreSQL stopped: 503, a transient OperationOutcome and Retry-After on hooks and feedback; logged at error level without tokens', async () => {
    await cluster.stop();
    for (const send of [hook, feedback]) {
      const res = await send();
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
      assert.deepEqual(res.body, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'transient', details: { text: 'rate limit is temporarily unavailable; retry later' } }],
      });
      assert.equal(res.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    }
    const lines = ts.logs.filter((l) => l.includes('rate limit unavailable'));
    assert.equal(lines.length, 2, ts.logs.join('\n'));
    for (const line of lines) {
      assert.match(line, /"level":"error"/);
      assert.match(line, /"reason":"rate limit count failed: /);
      assert.match(line, /"key":"ip:/);
    }
    for (const l of ts.logs) {
      assert.ok(!l.includes(BEARER), 'a log line holds the bearer token');
      assert.ok(!l.includes(FHIR_TOKEN), 'a log line holds the FHIR token');
    }
  });
});
