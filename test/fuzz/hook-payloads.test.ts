/**
 * Property: whatever a CDS client sends as a hook body, feedback body or Authorization header, the
 * service answers with a 4xx OperationOutcome or a 200 with cards, never a 5xx, never a crash, and
 * is healthy afterwards. No outbound call can happen: no FHIR server is allowed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import type { Response } from 'supertest';
import { jwksOf, makeClient } from '../security/jwt-clients.ts';
import { ORDER_SIGN, orderSignHook, startTestService } from '../security/service.ts';
import type { TestService } from '../security/service.ts';
import { authorizationHeader, hookBody } from './arbitraries.ts';

/** FUZZ_RUNS=5000 for a deeper run; the default keeps the file quick. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
let open: TestService;
let secured: TestService;

before(async () => {
  const client = await makeClient('ES384');
  [open, secured] = await Promise.all([
    startTestService({ maxConcurrentHooks: 64, maxQueuedHooks: 64 }),
    startTestService({}, [{ iss: 'https://ehr.example.org', keys: { kind: 'inline', jwks: jwksOf(client) }, jkuAllowList: [] }]),
  ]);
});

after(async () => {
  await open.stop();
  await secured.stop();
});

/** As JSON text: supertest cannot send a bare number or boolean itself. */
function postJson(path: string, body: unknown): Promise<Response> {
  return request(open.service.app).post(path).set('content-type', 'application/json').send(JSON.stringify(body));
}

/** A client's fault is 4xx; 200 is an answer. A 5xx here is a bug, whatever the body. */
function assertClientAnswer(res: Response, body: unknown): void {
  assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)} for ${JSON.stringify(body).slice(0, 600)}`);
  if (res.status === 200) {
    assert.ok(Array.isArray(res.body.cards));
  } else {
    assert.equal(res.body.resourceType, 'OperationOutcome');
  }
}

describe('fuzzed hook payloads', () => {
  it(`structured hook bodies (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(hookBody(fc.constant('')), async (body) => {
        const res = await postJson(`/cds-services/${ORDER_SIGN}`, body);
        assertClientAnswer(res, body);
      }),
      { numRuns: RUNS },
    );
  });

  it(`raw bodies that are not JSON, or not the declared type (${RUNS / 2} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.constantFrom('application/json', 'application/fhir+json', 'text/plain', 'application/x-www-form-urlencoded'), async (text, type) => {
        const res = await request(open.service.app).post(`/cds-services/${ORDER_SIGN}`).set('content-type', type).send(text);
        assertClientAnswer(res, text);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it(`feedback bodies (${RUNS / 2} runs)`, async () => {
    const item = fc.record(
      { card: fc.string({ maxLength: 40 }), outcome: fc.constantFrom('accepted', 'overridden', 'x'), outcomeTimestamp: fc.string({ maxLength: 30 }), acceptedSuggestions: fc.jsonValue({ maxDepth: 2 }), overrideReason: fc.jsonValue({ maxDepth: 3 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.record({ feedback: fc.array(item, { maxLength: 120 }) }), fc.jsonValue({ maxDepth: 3 })), async (body) => {
        const res = await postJson(`/cds-services/${ORDER_SIGN}/feedback`, body);
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `HTTP ${res.status} for ${JSON.stringify(body).slice(0, 300)}`);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it(`Authorization headers against client authentication: always 401 (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(authorizationHeader, fc.constantFrom('/cds-services', `/cds-services/${ORDER_SIGN}`), async (authorization, path) => {
        // Header values cannot hold control characters; HTTP clients refuse to send them.
        // eslint-disable-next-line no-control-regex -- stripping control characters is the point
        const value = authorization.replace(/[\u0000-\u001f\u007f-\uffff]/g, '');
        const r = path === '/cds-services' ? request(secured.service.app).get(path) : request(secured.service.app).post(path).send({});
        const res = await r.set('Authorization', value);
        assert.equal(res.status, 401, `${res.status} for ${value.slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('deeply nested JSON (100 000 levels) in prefetch, a draft order and the top level', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const base = JSON.stringify(orderSignHook({ images: [] }));
    for (const text of [base.replace('"images":{', `"deep":${deep},"images":{`), base.replace('"status":"draft"', `"status":"draft","x":${deep}`), base.replace('"hookInstance"', `"x":${deep},"hookInstance"`)]) {
      const res = await request(open.service.app).post(`/cds-services/${ORDER_SIGN}`).set('content-type', 'application/json').send(text);
      assertClientAnswer(res, text.slice(0, 100));
    }
  });

  it('both services are healthy afterwards and still answer a plain hook', async () => {
    for (const ts of [open, secured]) {
      assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    }
    const res = await request(open.service.app)
      .post(`/cds-services/${ORDER_SIGN}`)
      .send({ hook: 'order-sign', hookInstance: 'h', context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: [] } } });
    assert.equal(res.status, 200);
    assert.deepEqual(open.service.hookQueue(), { running: 0, queued: 0, draining: false });
  });
});
