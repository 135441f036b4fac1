/**
 * The OpenAPI document against the service as it answers (issue #18): real requests to a
 * production service (client JWTs on, a rate limit, a small body limit), and each response checked
 * against the document: its status is listed for that path and method, its Content-Type is one the
 * document names, its body validates against the documented schema (JSON Schema 2020-12, Ajv), and
 * the headers the document names for it (Retry-After, WWW-Authenticate) are there.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import request from 'supertest';
import type { Response } from 'supertest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { jwksOf, makeClient, signClientJwt } from '../security/jwt-clients.ts';
import type { TestClient } from '../security/jwt-clients.ts';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, noReferralHook, startTestService } from '../security/service.ts';
import type { TestService } from '../security/service.ts';

const DOC_ID = 'https://bcc-cds.example.org/openapi.json';
const doc = JSON.parse(await readFile(`${PROJECT_ROOT}/cds-hooks/openapi.json`, 'utf8')) as OpenApi;

interface OpenApiResponse {
  readonly $ref?: string;
  readonly headers?: Record<string, unknown>;
  readonly content?: Record<string, { readonly schema?: unknown }>;
}
interface OpenApi {
  readonly paths: Record<string, Record<string, { readonly responses: Record<string, OpenApiResponse> }>>;
  readonly components: { readonly responses?: Record<string, OpenApiResponse> };
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(doc, DOC_ID);

/** JSON pointer of a location in the document, as a URI fragment. */
function pointer(...keys: string[]): string {
  return `#/${keys.map((k) => encodeURIComponent(k.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;
}

/** The response object a status names, its $ref (components/responses) followed; and where it lies. */
function documented(path: string, method: string, status: number): { readonly response: OpenApiResponse; readonly at: string[] } | undefined {
  const r = doc.paths[path]?.[method]?.responses[String(status)];
  if (!r) {
    return undefined;
  }
  const name = r.$ref?.replace('#/components/responses/', '');
  if (name !== undefined) {
    const target = doc.components.responses?.[name];
    return target ? { response: target, at: ['components', 'responses', name] } : undefined;
  }
  return { response: r, at: ['paths', path, method, 'responses', String(status)] };
}

/** Everything the document says about this answer, checked; `what` names the request in messages. */
function assertConforms(res: Response, path: string, method: string, what: string): void {
  const d = documented(path, method, res.status);
  assert.ok(d, `${what}: ${method.toUpperCase()} ${path} answered ${res.status}, which the document does not list (body: ${res.text.slice(0, 300)})`);
  const { response, at } = d;
  for (const header of Object.keys(response.headers ?? {})) {
    assert.ok(res.headers[header.toLowerCase()], `${what}: ${res.status} documents the ${header} header, the answer has none`);
  }
  const types = Object.keys(response.content ?? {});
  if (types.length === 0) {
    return;
  }
  const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  assert.ok(types.includes(type), `${what}: Content-Type ${type}, the document names ${types.join(', ')}`);
  const schema = response.content?.[type]?.schema;
  if (schema === undefined) {
    return;
  }
  const validate = ajv.compile({ $ref: `${DOC_ID}${pointer(...at, 'content', type, 'schema')}` });
  const body: unknown = type === 'text/plain' ? res.text : JSON.parse(res.text);
  assert.ok(validate(body), `${what}: the body does not match the documented schema: ${ajv.errorsText(validate.errors)}\n${res.text.slice(0, 300)}`);
}

describe('OpenAPI document against real answers (production mode)', () => {
  let ts: TestService;
  let client: TestClient;
  const ISS = 'https://ehr.example.org';
  const issuers = (): TrustedIssuer[] => [{ iss: ISS, keys: { kind: 'inline', jwks: jwksOf(client) }, jkuAllowList: [] }];
  const token = async (path: string): Promise<string> => `Bearer ${await signClientJwt(client, { iss: ISS, aud: `${PUBLIC_BASE_URL}${path}` })}`;
  const hookPath = `/cds-services/${ORDER_SIGN}`;
  const feedbackPath = `${hookPath}/feedback`;

  before(async () => {
    client = await makeClient('ES384');
    ts = await startTestService({ maxBodyBytes: 64 * 1024 }, issuers());
  });
  after(async () => {
    await ts.stop();
  });

  it('discovery, health, readiness, metrics and the model card', async () => {
    const app = ts.service.app;
    assertConforms(await request(app).get('/cds-services').set('Authorization', await token('/cds-services')), '/cds-services', 'get', 'discovery');
    const anonymous = await request(app).get('/cds-services');
    assert.equal(anonymous.status, 401);
    assertConforms(anonymous, '/cds-services', 'get', 'discovery without a token');
    for (const path of ['/healthz', '/readyz', '/metrics', '/model-card', '/models', '/models/audit', '/annotations/annotators']) {
      const res = await request(app).get(path);
      assert.equal(res.status, 200, path);
      assertConforms(res, path, 'get', path);
    }
  });

  it('a hook: 200, 400, 401, 404, 412, 413, 415, each as documented', async () => {
    const app = ts.service.app;
    const post = async (path: string, body: string | object, contentType = 'application/json'): Promise<Response> =>
      request(app).post(path).set('Authorization', await token(path)).set('Content-Type', contentType).send(typeof body === 'string' ? body : JSON.stringify(body));
    const cases: { what: string; path: string; status: number; res: Response }[] = [
      { what: 'no referral', path: hookPath, status: 200, res: await post(hookPath, noReferralHook()) },
      { what: 'malformed JSON', path: hookPath, status: 400, res: await post(hookPath, '{"hook": ') },
      { what: 'no token', path: hookPath, status: 401, res: await request(app).post(hookPath).send(noReferralHook()) },
      { what: 'unknown service', path: '/cds-services/nope', status: 404, res: await post('/cds-services/nope', noReferralHook()) },
      { what: 'neither prefetch nor fhirServer', path: hookPath, status: 412, res: await post(hookPath, { ...noReferralHook(), context: { ...noReferralHook().context, draftOrders: referralOnly() } }) },
      { what: 'body over the limit', path: hookPath, status: 413, res: await post(hookPath, { ...noReferralHook(), padding: 'x'.repeat(70 * 1024) }) },
      { what: 'a text body', path: hookPath, status: 415, res: await post(hookPath, 'hook=order-sign', 'text/plain') },
    ];
    for (const c of cases) {
      assert.equal(c.res.status, c.status, `${c.what}: ${c.res.text.slice(0, 200)}`);
      assertConforms(c.res, '/cds-services/{id}', 'post', c.what);
    }
  });

  it('feedback: 200, 400, 404, 415, each as documented', async () => {
    const app = ts.service.app;
    const post = async (path: string, body: string, contentType = 'application/json'): Promise<Response> =>
      request(app).post(path).set('Authorization', await token(path)).set('Content-Type', contentType).send(body);
    const good = JSON.stringify({ feedback: [{ card: 'c-1', outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: '2026-12-02T10:00:00Z' }] });
    const cases: [string, string, number, Response][] = [
      ['stored', feedbackPath, 200, await post(feedbackPath, good)],
      ['an unknown outcome', feedbackPath, 400, await post(feedbackPath, good.replace('accepted', 'ignored'))],
      ['unknown service', '/cds-services/nope/feedback', 404, await post('/cds-services/nope/feedback', good)],
      ['a text body', feedbackPath, 415, await post(feedbackPath, 'accepted', 'text/plain')],
    ];
    for (const [what, , status, res] of cases) {
      assert.equal(res.status, status, `${what}: ${res.text.slice(0, 200)}`);
      assertConforms(res, '/cds-services/{id}/feedback', 'post', what);
    }
  });

  it('annotation and model administration without identity providers: 401 and 403 as documented', async () => {
    const app = ts.service.app;
    const list = await request(app).get('/annotations');
    assert.equal(list.status, 401);
    assertConforms(list, '/annotations', 'get', 'annotations, annotation off');
    const register = await request(app).post('/models').send({ manifest: {}, acceptance: {} });
    assert.equal(register.status, 403);
    assertConforms(register, '/models', 'post', 'register, administration off');
  });

  it('429 with Retry-After once the rate limit is used up', async () => {
    const limited = await startTestService({ rateLimitRequests: 2, rateLimitWindowSeconds: 60 }, issuers());
    try {
      const statuses: number[] = [];
      let res: Response | undefined;
      for (let i = 0; i < 3; i++) {
        res = await request(limited.service.app).post(hookPath).set('Authorization', await token(hookPath)).send(noReferralHook());
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      assert.ok(res);
      assertConforms(res, '/cds-services/{id}', 'post', 'rate limited');
    } finally {
      await limited.stop();
    }
  });

  // Last: the service drains and stays refusing.
  it('503 with Retry-After while draining', async () => {
    const app = ts.service.app;
    assert.ok(await ts.service.drain(1000));
    const res = await request(app).post(hookPath).set('Authorization', await token(hookPath)).send(noReferralHook());
    assert.equal(res.status, 503);
    assertConforms(res, '/cds-services/{id}', 'post', 'draining');
  });
});

/** A draft-orders Bundle with one dermatology referral: with neither prefetch nor fhirServer, 412. */
function referralOnly(): object {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        resource: {
          resourceType: 'ServiceRequest',
          id: 'sr1',
          status: 'draft',
          intent: 'order',
          code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003' }] },
          subject: { reference: 'Patient/p1' },
        },
      },
    ],
  };
}
