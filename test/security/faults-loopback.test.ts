/**
 * Fault injection with a misbehaving FHIR server on loopback: slow, 5xx, garbage JSON, wrong
 * content types, resources of the wrong type, redirects, truncated JPEG and a PNG bomb. The hook
 * always answers promptly, with a card that names the unreadable image or with an OperationOutcome;
 * the token goes nowhere else; the service stays healthy.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Media } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import { lesionJpeg } from '../helpers/images.ts';
import { pngBomb, truncatedJpeg } from './hostile-images.ts';
import { sendJson, startLoopback } from './loopback.ts';
import type { Loopback } from './loopback.ts';
import { ORDER_SIGN, orderSignHook, startTestService } from './service.ts';
import type { TestService } from './service.ts';

const TOKEN = 'fault-test-token-5b7d';
const FHIR_TIMEOUT_MS = 400;
let ehr: Loopback;
let foreign: Loopback;
let ts: TestService;
let good: Buffer;
let truncated: Buffer;
let bomb: Buffer;

function media(id: string, url: string): Media {
  return {
    resourceType: 'Media',
    id,
    status: 'completed',
    basedOn: [{ reference: 'ServiceRequest/sr1' }],
    subject: { reference: 'Patient/p1' },
    content: { contentType: 'image/jpeg', url, title: `image ${id}` },
  };
}

function searchset(...entries: Media[]): unknown {
  return { resourceType: 'Bundle', type: 'searchset', total: entries.length, entry: entries.map((resource) => ({ resource })) };
}

function bytes(res: ServerResponse, body: Buffer, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': body.length });
  res.end(body);
}

/** `/<mode>/Media?...` answers the search, `/<mode>/Binary/<name>` the image bytes. */
async function misbehave(mode: string, rest: string, res: ServerResponse): Promise<void> {
  const isSearch = rest.startsWith('Media');
  if (isSearch) {
    switch (mode) {
      case 'slow':
        await new Promise((r) => setTimeout(r, 3000));
        { sendJson(res, 200, searchset(), 'application/fhir+json'); return; }
      case 'e500':
        { sendJson(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'exception' }] }, 'application/fhir+json'); return; }
      case 'e503-html':
        { sendJson(res, 503, '<html><body>Service Unavailable</body></html>', 'text/html'); return; }
      case 'garbage':
        { sendJson(res, 200, '{"resourceType":"Bundle","entry":[{"resource":', 'application/fhir+json'); return; }
      case 'html':
        { sendJson(res, 200, '<!doctype html><title>login</title>', 'text/html'); return; }
      case 'text':
        { sendJson(res, 200, 'OK', 'text/plain'); return; }
      case 'text-bundle':
        { sendJson(res, 200, searchset(), 'text/plain'); return; }
      case 'not-bundle':
        { sendJson(res, 200, { resourceType: 'Patient', id: 'p1' }, 'application/fhir+json'); return; }
      case 'bad-entries':
        { sendJson(res, 200, { resourceType: 'Bundle', type: 'searchset', entry: [null, 3, 'x', { resource: { resourceType: 'Media' } }, { resource: [] }] }, 'application/fhir+json'); return; }
      case 'mixed':
        { sendJson(res, 200, searchset(media('t', 'Binary/truncated'), media('g', 'Binary/good')), 'application/fhir+json'); return; }
      case 'redirect':
        { sendJson(res, 200, searchset(media('r', 'Binary/redirect'), media('x', `${foreign.origin}/Binary/abs`)), 'application/fhir+json'); return; }
      default:
        { sendJson(res, 200, searchset(media('m', `Binary/${mode}`)), 'application/fhir+json'); return; }
    }
  }
  switch (rest) {
    case 'Binary/good':
      { bytes(res, good, 'image/jpeg'); return; }
    case 'Binary/truncated':
      { bytes(res, truncated, 'image/jpeg'); return; }
    case 'Binary/bomb':
      { bytes(res, bomb, 'image/png'); return; }
    case 'Binary/bin-html':
      { bytes(res, Buffer.from('<html>not an image</html>'), 'text/html'); return; }
    case 'Binary/bin-text':
      { bytes(res, Buffer.from('Service temporarily unavailable'), 'text/plain'); return; }
    case 'Binary/json-garbage':
      { bytes(res, Buffer.from('{"resourceType":"Binary","data":'), 'application/fhir+json'); return; }
    case 'Binary/wrong-type':
      { bytes(res, good, 'application/octet-stream'); return; }
    case 'Binary/bin-e500':
      { sendJson(res, 500, {}, 'application/fhir+json'); return; }
    case 'Binary/stall':
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(good.subarray(0, 100));
      return;
    case 'Binary/redirect':
      res.writeHead(302, { location: `${foreign.origin}/Binary/stolen` });
      res.end();
      return;
    default:
      { sendJson(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }, 'application/fhir+json'); return; }
  }
}

before(async () => {
  [good, truncated, bomb] = await Promise.all([lesionJpeg(400, 300, 3), truncatedJpeg(), pngBomb()]);
  ehr = await startLoopback(async (req, res) => {
    const m = /^\/([a-z0-9-]+)\/(.*)$/.exec(req.url ?? '');
    if (!m) {
      sendJson(res, 404, {}); return;
    }
    await misbehave(m[1] ?? '', m[2] ?? '', res);
  });
  foreign = await startLoopback((_req, res) => { bytes(res, good, 'image/jpeg'); });
  ts = await startTestService({ allowedFhirServers: [ehr.origin], fhirTimeoutMs: FHIR_TIMEOUT_MS, hookDeadlineMs: 5000 });
});

after(async () => {
  await ts.stop();
  await ehr.stop();
  await foreign.stop();
});

async function hookVia(mode: string): Promise<{ res: Response; ms: number }> {
  const t0 = Date.now();
  const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ fhirServer: `${ehr.origin}/${mode}`, token: TOKEN }));
  return { res, ms: Date.now() - t0 };
}

interface CardLike {
  readonly summary: string;
  readonly detail: string;
  readonly indicator: string;
}

function onlyCard(res: Response): CardLike {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.cards.length, 1);
  return res.body.cards[0] as CardLike;
}

function assertOutcome(res: Response, status: number | RegExp, text: RegExp): void {
  if (typeof status === 'number') {
    assert.equal(res.status, status, JSON.stringify(res.body));
  } else {
    assert.match(String(res.status), status, JSON.stringify(res.body));
  }
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assert.match(JSON.stringify(res.body.issue), text);
  assert.doesNotMatch(JSON.stringify(res.body), new RegExp(TOKEN));
}

describe('FHIR server faults, on loopback', () => {
  it('a well-behaved server gives an assessed card (baseline)', async () => {
    const { res } = await hookVia('good');
    const card = onlyCard(res);
    assert.doesNotMatch(card.summary, /not assessed/);
  });

  it('slow: the FHIR timeout answers, not the client', async () => {
    const { res, ms } = await hookVia('slow');
    assertOutcome(res, 504, /did not answer in time/);
    assert.ok(ms < FHIR_TIMEOUT_MS + 1500, `took ${ms} ms`);
  });

  it('5xx, with a FHIR body and with an HTML body: 502', async () => {
    assertOutcome((await hookVia('e500')).res, 502, /HTTP 500/);
    assertOutcome((await hookVia('e503-html')).res, 502, /HTTP 503/);
  });

  it('truncated JSON, an HTML login page and plain text for the search: 502, promptly', async () => {
    for (const [mode, type] of [
      ['garbage', 'application/fhir\\+json'],
      ['html', 'text/html'],
      ['text', 'text/plain'],
    ] as const) {
      const { res, ms } = await hookVia(mode);
      assertOutcome(res, 502, new RegExp(`search Media: the FHIR server answered HTTP 200 with ${type}, not FHIR JSON`));
      assert.ok(ms < 2000, `${mode}: took ${ms} ms`);
    }
  });

  it('a Bundle served as text/plain is still read', async () => {
    assert.match(onlyCard((await hookVia('text-bundle')).res).summary, /no dermoscopic images/);
  });

  it('a search answered with something other than a Bundle, or with junk entries', async () => {
    assertOutcome((await hookVia('not-bundle')).res, 502, /other than a Bundle/);
    const card = onlyCard((await hookVia('bad-entries')).res);
    assert.match(card.summary, /not assessed/);
  });

  it('a truncated JPEG is reported unreadable on the card', async () => {
    const card = onlyCard((await hookVia('truncated')).res);
    assert.match(card.summary, /could be read/);
    assert.match(card.detail, /unreadable|premature|truncat/i);
    assert.equal(card.indicator, 'warning');
  });

  it('a 30000 x 30000 PNG bomb is refused from its header, before any decode', async () => {
    const { res, ms } = await hookVia('bomb');
    const card = onlyCard(res);
    assert.match(card.detail, /30000x30000 pixels; the limit is/);
    assert.ok(ms < 3000, `took ${ms} ms`);
    assert.ok(process.memoryUsage().rss < 1.5 * 1024 ** 3, 'RSS stayed far below the 2.7 GB a decode would need');
  });

  it('HTML, plain text, broken Binary JSON, a 500 and a stalled download each make that image unreadable', async () => {
    for (const mode of ['bin-html', 'bin-text', 'json-garbage', 'bin-e500', 'stall']) {
      const { res, ms } = await hookVia(mode);
      const card = onlyCard(res);
      assert.match(card.summary, /could be read/, mode);
      assert.ok(ms < FHIR_TIMEOUT_MS + 2000, `${mode}: took ${ms} ms`);
    }
  });

  it('a JPEG served as application/octet-stream is still read from its header', async () => {
    assert.doesNotMatch(onlyCard((await hookVia('wrong-type')).res).summary, /not assessed/);
  });

  it('one bad image does not stop the others', async () => {
    const card = onlyCard((await hookVia('mixed')).res);
    assert.doesNotMatch(card.summary, /not assessed/);
    assert.match(card.detail, /premature|unreadable|could not/i);
  });

  it('redirects and absolute URLs elsewhere are not followed, and the token goes nowhere else', async () => {
    const card = onlyCard((await hookVia('redirect')).res);
    assert.match(card.summary, /could be read/);
    assert.match(card.detail, /redirect/);
    assert.match(card.detail, /outside the FHIR server/);
    assert.equal(foreign.seen.length, 0);
  });

  it('a fhirServer that is not allowed is never called', async () => {
    const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ fhirServer: `${foreign.origin}/fhir`, token: TOKEN }));
    assertOutcome(res, 412, /no FHIR server to search/);
    assert.equal(foreign.seen.length, 0);
  });

  it('only the allowed server ever saw the token, and the logs never did', async () => {
    assert.ok(ehr.seen.length > 10);
    assert.ok(ehr.seen.every((s) => s.authorization === `Bearer ${TOKEN}`));
    assert.ok(ts.logs.every((l) => !l.includes(TOKEN)));
  });

  it('is still healthy', async () => {
    assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    assert.equal(onlyCard((await hookVia('good')).res).indicator.length > 0, true);
  });
});
