/**
 * The HTTP edge as an EHR meets it: discovery, health, OpenAPI, and the refusals (412, 400, 404),
 * including a fhirServer that is not on the allow-list, which must never receive the token.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Binary } from 'fhir/r4';
import request from 'supertest';
import { lesionJpeg } from '../helpers/images.ts';
import type { Harness } from './harness.ts';
import {
  ORDER_SELECT,
  ORDER_SIGN,
  assertOutcome,
  callHook,
  cardsOf,
  create,
  createPatient,
  dermReferral,
  expressions,
  hookBody,
  imageMedia,
  imagesPrefetch,
  postHook,
  startHarness,
} from './harness.ts';

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h.stop();
});

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A local HTTP server that records every request and answers each with an empty searchset. */
async function startRecorder(): Promise<{ baseUrl: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}

describe('HTTP edge', () => {
  it('lists the order-sign and order-select services with their prefetch templates', async () => {
    const res = await request(h.service.app).get('/cds-services');
    assert.equal(res.status, 200);
    const services: unknown = res.body?.services;
    assert.ok(Array.isArray(services));
    const byId = new Map(services.map((s: { id: string; hook: string; prefetch?: Record<string, string> }) => [s.id, s] as const));
    assert.equal(byId.get(ORDER_SIGN)?.hook, 'order-sign');
    assert.equal(byId.get(ORDER_SELECT)?.hook, 'order-select');
    for (const id of [ORDER_SIGN, ORDER_SELECT]) {
      const s = byId.get(id);
      assert.ok(s?.prefetch, `${id} has prefetch templates`);
      assert.equal(s.prefetch.images, 'Media?patient={{context.patientId}}&_count=50');
      assert.equal(s.prefetch.patient, 'Patient/{{context.patientId}}');
    }
  });

  it('serves the model card with its gate, calibration, and the image gate as this service applies it', async () => {
    const m = h.service.model.manifest;
    const res = await request(h.service.app).get('/model-card');
    assert.equal(res.status, 200);
    assert.equal(res.body.version, m.version);
    assert.equal(res.body.sha256, m.sha256);
    assert.equal(res.body.calibration.method, m.calibration?.method);
    assert.equal(res.body.gate.modality.threshold, m.gate?.modality?.threshold);
    assert.match(res.body.modelCard.intendedUse, /not for diagnosis/);
    // The harness runs the model checks as warnings (its synthetic images); the card says so.
    assert.deepEqual(res.body.imageGate.modelChecks, { 'not-dermoscopic': 'warn', 'out-of-distribution': 'warn' });
    assert.ok(res.body.imageGate.checks.some((c: { code: string; action: string }) => c.code === 'blurred' && c.action === 'reject'));
  });

  it('answers /readyz with the model, /healthz, and an OpenAPI document listing /cds-services', async () => {
    const m = h.service.model.manifest;
    const ready = await request(h.service.app).get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', model: { name: m.name, version: m.version } });

    const health = await request(h.service.app).get('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });

    const openapi = await request(h.service.app).get('/openapi.json');
    assert.equal(openapi.status, 200);
    const doc: unknown = JSON.parse(openapi.text);
    assert.ok(typeof doc === 'object' && doc !== null && 'openapi' in doc && 'paths' in doc);
    assert.match(String(doc.openapi), /^3\./);
    assert.ok(typeof doc.paths === 'object' && doc.paths !== null && '/cds-services' in doc.paths, 'OpenAPI lists /cds-services');
  });

  it('documents the annotation API in OpenAPI: every path, method and status, errors as OperationOutcome, 401 with WWW-Authenticate', async () => {
    const res = await request(h.service.app).get('/openapi.json');
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.text) as OpenApiDoc;
    const expected: Record<string, Record<string, string[]>> = {
      '/annotations': { post: ['200', '201', '400', '401', '403', '404', '413', '415', '422'], get: ['200', '400', '401', '403'] },
      '/annotations/export.csv': { get: ['200', '401', '403'] },
      '/annotations/export.fhir': { get: ['200', '401', '403'] },
      '/annotations/annotators': { get: ['200'] },
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const [method, statuses] of Object.entries(methods)) {
        assertDocumented(doc, path, method, statuses);
      }
    }
    const post = doc.paths['/annotations']?.post;
    assert.ok(post);
    assert.equal(post.requestBody?.content?.['application/json']?.schema?.$ref, '#/components/schemas/AnnotationRequest');
    assert.equal(post.responses['201']?.content?.['application/json']?.schema?.$ref, '#/components/schemas/AnnotationWritten');
    assert.ok(doc.paths['/annotations/export.csv']?.get?.responses['200']?.content?.['text/csv'], 'the CSV export answers text/csv');
    // Every $ref in the document points at something that exists.
    const refs = [...res.text.matchAll(/"\$ref":\s*"#\/([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      const target = ref.split('/').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), doc);
      assert.ok(target !== undefined, `$ref #/${ref} resolves`);
    }
  });

  it('documents the model change-control API in OpenAPI: every path, method and status, errors as OperationOutcome, 401 with WWW-Authenticate', async () => {
    const res = await request(h.service.app).get('/openapi.json');
    const doc = JSON.parse(res.text) as OpenApiDoc;
    const expected: Record<string, Record<string, string[]>> = {
      '/models': { get: ['200'], post: ['201', '400', '401', '403', '413', '415', '422'] },
      '/models/audit': { get: ['200'] },
      '/models/{version}/promote': { post: ['200', '400', '401', '403', '404', '409', '415', '422'] },
      '/models/rollback': { post: ['200', '400', '401', '403', '404', '409', '415', '422'] },
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const [method, statuses] of Object.entries(methods)) {
        assertDocumented(doc, path, method, statuses);
        // Each documented route answers here (not the 404 of an unknown route); 401/403 before the body.
        const url = path.replace('{version}', '0.0.0');
        const answered = method === 'get' ? await request(h.service.app).get(url) : await request(h.service.app).post(url).send({});
        assert.ok(statuses.includes(String(answered.status)), `${method.toUpperCase()} ${url} answered ${answered.status}, a documented status`);
      }
    }
    assert.equal(doc.paths['/models']?.post?.requestBody?.content?.['application/json']?.schema?.$ref, '#/components/schemas/ModelCandidate');
    const list: OpenApiOperation | undefined = doc.paths['/models'].get;
    assert.equal(list?.responses['200']?.content?.['application/json']?.schema?.$ref, '#/components/schemas/ModelsOverview');
  });

  it('answers 412 with an OperationOutcome when there is neither prefetch nor a fhirServer', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    await create(h, imageMedia(patient.id, referral.id, { title: 'Unreachable', bytes: await lesionJpeg(400, 300, 51) }));

    const outcome = assertOutcome(await callHook(h, { patientId: patient.id, draftOrders: [referral] }), 412);
    assert.equal(outcome.issue[0]?.code, 'incomplete');
    assert.deepEqual(expressions(outcome), ['prefetch.images']);
  });

  it('answers 412 naming the attachment when an image is stored by URL and there is no fhirServer to fetch it from', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    const binary = await create<Binary>(h, { resourceType: 'Binary', contentType: 'image/jpeg', data: (await lesionJpeg(400, 300, 53)).toString('base64') });
    const media = await create(h, imageMedia(patient.id, referral.id, { title: 'Behind the ear', url: `Binary/${binary.id}` }));
    const prefetch = { images: await imagesPrefetch(h, patient.id) };

    // The prefetch names the image but cannot carry its bytes: a request problem, not a bad image.
    const outcome = assertOutcome(await callHook(h, { patientId: patient.id, draftOrders: [referral], prefetch }), 412);
    assert.equal(outcome.issue[0]?.code, 'incomplete');
    assert.deepEqual(expressions(outcome), [`Media/${media.id}.content.url`]);
  });

  it('never calls, nor sends the token to, a fhirServer that is not on the allow-list', async (t) => {
    const recorder = await startRecorder();
    t.after(() => recorder.close());
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    await create(h, imageMedia(patient.id, referral.id, { title: 'Cheek', bytes: await lesionJpeg(400, 300, 52) }));

    // Same host as the allowed FHIR server, another port: not the same base.
    const refused = await callHook(h, { patientId: patient.id, draftOrders: [referral], fhirServer: recorder.baseUrl });
    const outcome = assertOutcome(refused, 412);
    assert.deepEqual(expressions(outcome), ['prefetch.images']);
    assert.ok(
      h.logs.some((l) => l.includes('fhirServer not on the allow-list') && l.includes(new URL(recorder.baseUrl).host)),
      'the refusal is logged with the host',
    );

    // With a prefetch the hook still answers, from the prefetch alone.
    const prefetch = { images: await imagesPrefetch(h, patient.id) };
    const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], prefetch, fhirServer: recorder.baseUrl }));
    assert.equal(cards.length, 1);

    assert.deepEqual(recorder.requests, [], 'the unlisted server was never called');
  });

  it('refuses a malformed hook body with 400 naming the element', async () => {
    const patient = await createPatient(h);
    const body = hookBody(h, { patientId: patient.id, draftOrders: [dermReferral(patient.id, { id: 'r1' })] });
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: dermReferral(patient.id, { id: 'r1' }) }] };

    const noPatient = assertOutcome(await postHook(h, ORDER_SIGN, { ...body, context: { userId: 'Practitioner/int-1', draftOrders } }), 400);
    assert.deepEqual(expressions(noPatient), ['context.patientId']);

    const notBundle = assertOutcome(await postHook(h, ORDER_SIGN, { ...body, context: { userId: 'Practitioner/int-1', patientId: patient.id, draftOrders: { resourceType: 'List' } } }), 400);
    assert.ok(expressions(notBundle).some((e) => e.startsWith('context.draftOrders')), JSON.stringify(notBundle));

    const notJson = await request(h.service.app).post(`/cds-services/${ORDER_SIGN}`).set('content-type', 'application/json').send('{"hook": "order-sign",');
    assertOutcome(notJson, 400);
  });

  it('answers 404 for an unknown service and 400 for a hook sent to the wrong service', async () => {
    const patient = await createPatient(h);
    const draftOrders = [dermReferral(patient.id, { id: 'r2' })];

    const unknown = assertOutcome(await callHook(h, { patientId: patient.id, draftOrders }, 'no-such-service'), 404);
    assert.equal(unknown.issue[0]?.code, 'not-found');

    const mismatch = assertOutcome(await postHook(h, ORDER_SIGN, hookBody(h, { hook: 'order-select', patientId: patient.id, draftOrders })), 400);
    assert.deepEqual(expressions(mismatch), ['hook']);
  });
});

interface OpenApiMedia {
  readonly schema?: { readonly $ref?: string };
}

interface OpenApiResponse {
  /** `#/components/responses/<name>`: a shared response. */
  readonly $ref?: string;
  readonly content?: Record<string, OpenApiMedia | undefined>;
  readonly headers?: Record<string, unknown>;
}

interface OpenApiOperation {
  readonly requestBody?: { readonly content?: Record<string, OpenApiMedia | undefined> };
  readonly responses: Record<string, OpenApiResponse | undefined>;
}

interface OpenApiDoc {
  readonly paths: Record<string, Partial<Record<string, OpenApiOperation>> | undefined>;
  readonly components?: { readonly responses?: Record<string, OpenApiResponse | undefined> };
}

/** The operation is in the document with exactly these statuses; each error is an OperationOutcome, each 401 names WWW-Authenticate. */
function assertDocumented(doc: OpenApiDoc, path: string, method: string, statuses: readonly string[]): void {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `OpenAPI lists ${method.toUpperCase()} ${path}`);
  assert.deepEqual(Object.keys(op.responses).sort(), [...statuses].sort(), `${method.toUpperCase()} ${path}: statuses`);
  for (const status of statuses.filter((s) => s >= '400')) {
    const listed: OpenApiResponse | undefined = op.responses[status];
    const r: OpenApiResponse | undefined = listed?.$ref ? doc.components?.responses?.[listed.$ref.replace('#/components/responses/', '')] : listed;
    assert.equal(r?.content?.['application/fhir+json']?.schema?.$ref, '#/components/schemas/OperationOutcome', `${method.toUpperCase()} ${path} ${status}: OperationOutcome`);
    if (status === '401') {
      assert.ok(r.headers?.['WWW-Authenticate'], `${method.toUpperCase()} ${path} 401: WWW-Authenticate`);
    }
  }
}
