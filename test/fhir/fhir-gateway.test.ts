import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createFhirGateway } from '../../src/fhir/fhir-gateway.ts';
import type { FhirGateway } from '../../src/fhir/fhir-gateway.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';

const TOKEN = 'secret-token-123';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 8, 7, 6]);

interface Seen {
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A loopback HTTP server that records every request and answers through `route`. */
async function startServer(route: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    // A client that aborts mid-body resets the socket; that is the point of some tests.
    res.on('error', () => undefined);
    route(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify(body));
}

let ehr: Awaited<ReturnType<typeof startServer>>;
let foreign: Awaited<ReturnType<typeof startServer>>;
let base: string;

function gateway(overrides: { accessToken?: string; timeoutMs?: number } = {}): FhirGateway {
  return createFhirGateway({ baseUrl: base, accessToken: TOKEN, timeoutMs: 2000, ...overrides });
}

async function rejectsWith(p: Promise<unknown>, status: number, text: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OperationOutcomeError, String(err));
    assert.equal(getStatus(err.outcome), status, err.message);
    assert.match(err.message, text);
    assert.doesNotMatch(err.message, new RegExp(TOKEN));
    return true;
  });
}

before(async () => {
  foreign = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(PNG);
  });
  ehr = await startServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    switch (path) {
      case '/fhir/Media':
        { json(res, 200, { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Media', id: 'm1' } }] }); return; }
      case '/fhir/Media/m1':
        { json(res, 200, { resourceType: 'Media', id: 'm1', status: 'completed', content: { url: 'Binary/raw' } }); return; }
      case '/fhir/Media/m1/_history/2':
        { json(res, 200, { resourceType: 'Media', id: 'm1', meta: { versionId: '2' } }); return; }
      case '/fhir/Media/wrong-type':
        { json(res, 200, { resourceType: 'Patient', id: 'p' }); return; }
      case '/fhir/Media/denied':
        { json(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }); return; }
      case '/fhir/Media/missing':
        { json(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }); return; }
      case '/fhir/Media/login-page':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end('<!doctype html><title>Sign in</title>');
      case '/fhir/Media/plain':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('OK');
      case '/fhir/Media/unavailable':
        res.writeHead(503, { 'content-type': 'text/html' });
        return res.end('<html><body>Service Unavailable</body></html>');
      case '/fhir/Media/moved':
      case '/fhir/Binary/moved':
        res.writeHead(302, { location: `${foreign.origin}/steal` });
        return res.end();
      case '/fhir/Binary/raw':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(PNG);
      case '/fhir/Binary/json':
        { json(res, 200, { resourceType: 'Binary', contentType: 'image/png', data: PNG.toString('base64') }); return; }
      case '/fhir/Binary/json-bad':
        { json(res, 200, { resourceType: 'Binary', contentType: 'image/png', data: 'not base64!' }); return; }
      case '/fhir/Binary/untyped-json':
        res.writeHead(200);
        return res.end(JSON.stringify({ resourceType: 'Binary', data: PNG.toString('base64') }));
      case '/fhir/Binary/big':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': '10000' });
        return res.end(Buffer.alloc(10000));
      case '/fhir/Binary/big-chunked': {
        // No content-length: the cap must be enforced while streaming.
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 10; i++) {
          res.write(Buffer.alloc(1000));
        }
        return res.end();
      }
      case '/fhir/Binary/endless': {
        // 1 MB, then the body never ends: only a client that stops reading at its cap gets an
        // answer before its timeout; one that reads to the end times out instead.
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 1000; i++) {
          res.write(Buffer.alloc(1000));
        }
        return;
      }
      case '/fhir/Binary/hang':
        return; // never answers: the timeout must fire
      default:
        { json(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }); return; }
    }
  });
  base = `${ehr.origin}/fhir`;
});

after(() => {
  for (const s of [ehr.server, foreign.server]) {
    s.closeAllConnections();
    s.close();
  }
});

describe('createFhirGateway: search and read (fhir-kit-client)', () => {
  it('searches under the base with the bearer token', async () => {
    const before = ehr.seen.length;
    const bundle = await gateway().search('Media', { 'based-on': 'ServiceRequest/r1', _count: '50' });
    assert.equal(bundle.entry?.[0]?.resource?.id, 'm1');
    const req = ehr.seen.slice(before);
    assert.equal(req.length, 1);
    assert.equal(req[0]?.url, '/fhir/Media?based-on=ServiceRequest%2Fr1&_count=50');
    assert.equal(req[0].authorization, `Bearer ${TOKEN}`);
  });

  it('reads relative, versioned and absolute-under-base references, with the token', async () => {
    const before = ehr.seen.length;
    const g = gateway();
    assert.equal((await g.read('Media/m1')).id, 'm1');
    assert.equal((await g.read(`${base}/Media/m1`)).id, 'm1');
    assert.equal((await g.read('Media/m1/_history/2')).meta?.versionId, '2');
    assert.deepEqual(
      ehr.seen.slice(before).map((s) => [s.url, s.authorization]),
      [
        ['/fhir/Media/m1', `Bearer ${TOKEN}`],
        ['/fhir/Media/m1', `Bearer ${TOKEN}`],
        ['/fhir/Media/m1/_history/2', `Bearer ${TOKEN}`],
      ],
    );
  });

  it('sends no authorization header when there is no token', async () => {
    const before = ehr.seen.length;
    await gateway({ accessToken: undefined }).read('Media/m1');
    assert.equal(ehr.seen[before]?.authorization, undefined);
  });

  it('refuses to read a foreign absolute URL, without sending it anything', async () => {
    const before = foreign.seen.length;
    await rejectsWith(gateway().read(`${foreign.origin}/fhir/Media/m1`), 403, /not on the FHIR server/);
    await rejectsWith(gateway().read(`${ehr.origin}/fhir-evil/Media/m1`), 403, /not on the FHIR server/);
    assert.equal(foreign.seen.length, before);
  });

  it('refuses references that are not Type/id', async () => {
    const before = ehr.seen.length;
    await rejectsWith(gateway().read('Media/../Patient/p1'), 422, /not a FHIR reference/);
    await rejectsWith(gateway().read('Media/m1?_format=xml'), 422, /not a FHIR reference/);
    await rejectsWith(gateway().search('Media/../admin', {}), 400, /not a FHIR resource type/);
    assert.equal(ehr.seen.length, before);
  });

  it('does not follow a redirect on read', async () => {
    const before = foreign.seen.length;
    await rejectsWith(gateway().read('Media/moved'), 403, /redirect/);
    assert.equal(foreign.seen.length, before);
  });

  it('maps upstream answers: 401 -> 412, 404 -> 422, wrong resource type -> 502', async () => {
    await rejectsWith(gateway().read('Media/denied'), 412, /refused the access token/);
    await rejectsWith(gateway().read('Media/missing'), 422, /not found/);
    await rejectsWith(gateway().read('Media/wrong-type'), 502, /other than a Media/);
  });

  it('answers a body that is not JSON (HTML login page, text/plain) and a 5xx as a bad gateway (502)', async () => {
    await rejectsWith(gateway().read('Media/login-page'), 502, /read Media\/login-page: the FHIR server answered HTTP 200 with text\/html, not FHIR JSON/);
    await rejectsWith(gateway().read('Media/plain'), 502, /answered HTTP 200 with text\/plain, not FHIR JSON/);
    await rejectsWith(gateway().read('Media/unavailable'), 502, /read Media\/unavailable: the FHIR server answered HTTP 503/);
  });

  it('times out', async () => {
    await rejectsWith(gateway({ timeoutMs: 50 }).read('Binary/hang'), 504, /did not answer in time/);
  });

  it('reports an unreachable server as 412', async () => {
    const closed = await startServer(() => undefined);
    const url = `${closed.origin}/fhir`;
    closed.server.close();
    await once(closed.server, 'close');
    await rejectsWith(createFhirGateway({ baseUrl: url, timeoutMs: 2000 }).read('Media/m1'), 412, /cannot reach/);
  });

  it('refuses a base URL with credentials', () => {
    assert.throws(() => createFhirGateway({ baseUrl: 'https://u:p@ehr.example.org/fhir', timeoutMs: 1000 }), OperationOutcomeError);
  });
});

describe('createFhirGateway: fetchAttachment', () => {
  it('resolves a relative url against the base and sends the token there', async () => {
    const before = ehr.seen.length;
    assert.deepEqual(await gateway().fetchAttachment('Binary/raw', 1000), PNG);
    assert.deepEqual(ehr.seen.slice(before), [{ url: '/fhir/Binary/raw', authorization: `Bearer ${TOKEN}` }]);
  });

  it('fetches an absolute url under the base', async () => {
    assert.deepEqual(await gateway().fetchAttachment(`${base}/Binary/raw`, 1000), PNG);
  });

  it('refuses a foreign absolute url without sending it anything, token or not', async () => {
    const before = foreign.seen.length;
    await rejectsWith(gateway().fetchAttachment(`${foreign.origin}/Binary/raw`, 1000), 403, /outside the FHIR server/);
    await rejectsWith(gateway().fetchAttachment(`${ehr.origin}/fhir-evil/Binary/raw`, 1000), 403, /outside the FHIR server/);
    await rejectsWith(gateway().fetchAttachment('/Binary/raw', 1000), 403, /outside the FHIR server/);
    assert.equal(foreign.seen.length, before);
  });

  it('does not follow a redirect', async () => {
    const before = foreign.seen.length;
    await rejectsWith(gateway().fetchAttachment('Binary/moved', 1000), 403, /redirect/);
    assert.equal(foreign.seen.length, before);
  });

  it('decodes a Binary answered as FHIR JSON, and raw bytes, to the same image', async () => {
    const g = gateway();
    assert.deepEqual(await g.fetchAttachment('Binary/json', 1000), PNG);
    assert.deepEqual(await g.fetchAttachment('Binary/untyped-json', 1000), PNG);
    assert.deepEqual(await g.fetchAttachment('Binary/raw', 1000), PNG);
    await rejectsWith(g.fetchAttachment('Binary/json-bad', 1000), 422, /not valid base64/);
  });

  it('caps the size: by content-length, and while streaming', async () => {
    await rejectsWith(gateway().fetchAttachment('Binary/big', 2500), 422, /limit is 2500/);
    await rejectsWith(gateway().fetchAttachment('Binary/big-chunked', 2500), 422, /more than 2500 bytes/);
    assert.equal((await gateway().fetchAttachment('Binary/big-chunked', 10000)).length, 10000);
  });

  it('stops reading an endless body at the cap (no waiting for the end or the timeout)', async () => {
    await rejectsWith(gateway({ timeoutMs: 2000 }).fetchAttachment('Binary/endless', 5000), 422, /download stopped/);
  });

  it('caps the decoded size of a Binary JSON', async () => {
    await rejectsWith(gateway().fetchAttachment('Binary/json', PNG.length - 1), 422, /limit is/);
  });

  it('times out', async () => {
    await rejectsWith(gateway({ timeoutMs: 50 }).fetchAttachment('Binary/hang', 1000), 504, /did not answer in time/);
  });

  it('uses the injected fetch for attachments', async () => {
    const asked: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      asked.push(input instanceof Request ? input.url : String(input));
      return new Response(new Uint8Array(PNG), { status: 200, headers: { 'content-type': 'image/png' } });
    };
    const g = createFhirGateway({ baseUrl: 'https://ehr.example.org/fhir', timeoutMs: 1000, fetch: fakeFetch });
    assert.deepEqual(await g.fetchAttachment('Binary/9', 1000), PNG);
    assert.deepEqual(asked, ['https://ehr.example.org/fhir/Binary/9']);
  });
});
