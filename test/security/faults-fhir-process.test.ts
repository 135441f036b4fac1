/**
 * Fault injection against the real FHIR server process: hostile images stored in it (a truncated
 * JPEG inline, a 30000 x 30000 PNG bomb as a Binary), then the same server slowed, failing and
 * malformed through a loopback proxy, then stopped. The hook answers promptly every time and the
 * service stays healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Media, Patient, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import { lesionJpeg } from '../helpers/images.ts';
import { startFhirServerProcess } from '../support/fhir-process.ts';
import type { FhirServerProcess } from '../support/fhir-process.ts';
import { pngBomb, truncatedJpeg } from './hostile-images.ts';
import { startLoopback } from './loopback.ts';
import type { Loopback } from './loopback.ts';
import { ORDER_SIGN, dermReferral, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const TOKEN = 'process-fault-token-91c3';
const FHIR_TIMEOUT_MS = 600;
type ProxyMode = 'pass' | 'delay' | 'error' | 'malformed' | 'html' | 'text';

let fhir: FhirServerProcess;
let proxy: Loopback;
let proxyMode: ProxyMode = 'pass';
let ts: TestService;
let patientId: string;
let mixed: ServiceRequest & { id: string };
let bombOnly: ServiceRequest & { id: string };

async function post<T extends { resourceType: string }>(resource: T): Promise<T & { id: string }> {
  const res = await fetch(`${fhir.baseUrl}/${resource.resourceType}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, body: JSON.stringify(resource) });
  const body = (await res.json()) as T & { id: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

async function postBinary(bytes: Buffer, contentType: string): Promise<string> {
  const res = await fetch(`${fhir.baseUrl}/Binary`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/fhir+json' }, body: bytes });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.id;
}

function media(referralId: string, content: Media['content']): Media {
  return { resourceType: 'Media', status: 'completed', basedOn: [{ reference: `ServiceRequest/${referralId}` }], subject: { reference: `Patient/${patientId}` }, content };
}

before(async () => {
  const [good, truncated, bomb] = await Promise.all([lesionJpeg(400, 300, 5), truncatedJpeg(), pngBomb()]);
  fhir = await startFhirServerProcess();
  patientId = (await post<Patient>({ resourceType: 'Patient', name: [{ family: 'Fault' }] })).id;
  const { id: _drop, ...referral } = dermReferral('x', patientId);
  mixed = await post<ServiceRequest>(referral);
  bombOnly = await post<ServiceRequest>(referral);
  const goodId = await postBinary(good, 'image/jpeg');
  const bombId = await postBinary(bomb, 'image/png');
  await post(media(mixed.id, { contentType: 'image/jpeg', url: `Binary/${goodId}`, title: 'good' }));
  await post(media(mixed.id, { contentType: 'image/jpeg', data: truncated.toString('base64'), title: 'truncated' }));
  await post(media(mixed.id, { contentType: 'image/png', url: `Binary/${bombId}`, title: 'bomb' }));
  await post(media(bombOnly.id, { contentType: 'image/png', url: `Binary/${bombId}`, title: 'bomb' }));

  proxy = await startLoopback(async (req, res) => {
    const mode = proxyMode;
    if (mode === 'error') {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
      return;
    }
    if (mode === 'delay') {
      await new Promise((r) => setTimeout(r, FHIR_TIMEOUT_MS * 3));
    }
    const upstream = await fetch(`${fhir.baseUrl}${(req.url ?? '').replace(/^\/fhir/, '')}`, {
      headers: { accept: req.headers.accept ?? '*/*', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) },
    });
    let body = Buffer.from(await upstream.arrayBuffer());
    let type = upstream.headers.get('content-type') ?? 'application/octet-stream';
    if (mode === 'malformed' && type.includes('json')) {
      body = body.subarray(0, Math.floor(body.length / 2));
    }
    if (mode === 'html') {
      type = 'text/html';
      body = Buffer.from('<html><body>Session expired, please log in</body></html>');
    }
    if (mode === 'text') {
      type = 'text/plain';
      body = Buffer.from('Service temporarily unavailable');
    }
    if (res.destroyed) {
      return;
    }
    res.writeHead(upstream.status, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  });
  ts = await startTestService({ allowedFhirServers: [fhir.baseUrl, `${proxy.origin}/fhir`], fhirTimeoutMs: FHIR_TIMEOUT_MS, hookDeadlineMs: 5000 });
});

after(async () => {
  await ts.stop();
  await proxy.stop();
  await fhir.stop();
});

async function hook(referral: ServiceRequest, fhirServer: string): Promise<{ res: Response; ms: number }> {
  const t0 = Date.now();
  const res = await request(ts.service.app)
    .post(`/cds-services/${ORDER_SIGN}`)
    .send({
      hook: 'order-sign',
      hookInstance: crypto.randomUUID(),
      fhirServer,
      fhirAuthorization: { access_token: TOKEN, token_type: 'Bearer' },
      context: { userId: 'Practitioner/1', patientId, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: referral }] } satisfies Bundle },
    });
  return { res, ms: Date.now() - t0 };
}

function card(res: Response): { summary: string; detail: string } {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.cards.length, 1);
  return res.body.cards[0] as { summary: string; detail: string };
}

function assertPromptOutcome(r: { res: Response; ms: number }, status: RegExp, text: RegExp): void {
  assert.match(String(r.res.status), status, JSON.stringify(r.res.body));
  assert.equal(r.res.body.resourceType, 'OperationOutcome');
  assert.match(JSON.stringify(r.res.body.issue), text);
  assert.doesNotMatch(JSON.stringify(r.res.body), new RegExp(TOKEN));
  assert.ok(r.ms < FHIR_TIMEOUT_MS + 2000, `took ${r.ms} ms`);
}

describe('faults with the real FHIR server process', () => {
  it('a good image is assessed next to a truncated JPEG and a PNG bomb, which are named unreadable', async () => {
    const c = card((await hook(mixed, fhir.baseUrl)).res);
    assert.doesNotMatch(c.summary, /not assessed/);
    assert.match(c.detail, /premature end of JPEG|unreadable/i);
    assert.match(c.detail, /30000x30000 pixels/);
  });

  it('the PNG bomb alone: refused from its header, promptly', async () => {
    const { res, ms } = await hook(bombOnly, fhir.baseUrl);
    const c = card(res);
    assert.match(c.summary, /could be read/);
    assert.match(c.detail, /30000x30000 pixels; the limit is/);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  it('slowed past the FHIR timeout: 504, not a hang', async () => {
    proxyMode = 'delay';
    assertPromptOutcome(await hook(mixed, `${proxy.origin}/fhir`), /^504$/, /did not answer in time/);
  });

  it('returning errors: 502, an OperationOutcome naming the upstream status', async () => {
    proxyMode = 'error';
    assertPromptOutcome(await hook(mixed, `${proxy.origin}/fhir`), /^502$/, /search Media: the FHIR server answered HTTP 502/);
  });

  it('a 200 whose body is not JSON (HTML login page, plain text, a truncated Bundle): 502 naming what came', async () => {
    for (const [mode, text] of [
      ['html', /search Media: the FHIR server answered HTTP 200 with text\/html, not FHIR JSON/],
      ['text', /search Media: the FHIR server answered HTTP 200 with text\/plain, not FHIR JSON/],
      ['malformed', /search Media: the FHIR server answered HTTP 200 with application\/fhir\+json, not FHIR JSON/],
    ] as const) {
      proxyMode = mode;
      assertPromptOutcome(await hook(mixed, `${proxy.origin}/fhir`), /^502$/, text);
    }
  });

  it('healthy again through the proxy once the faults stop', async () => {
    proxyMode = 'pass';
    assert.doesNotMatch(card((await hook(mixed, `${proxy.origin}/fhir`)).res).summary, /not assessed/);
  });

  it('stopped: 412 (the service cannot get its data), promptly; the service stays healthy', async () => {
    await fhir.stop();
    assertPromptOutcome(await hook(mixed, fhir.baseUrl), /^412$/, /cannot reach the FHIR server/);
    assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    assert.equal((await request(ts.service.app).get('/readyz')).status, 200);
  });
});
