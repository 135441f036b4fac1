/**
 * The result viewer launched as a SMART app, over HTTP, with real parts on both sides (issue 18):
 * a production-mode service (real model) whose EHR is the sandbox: its FHIR server, its SMART
 * authorization server, and its id_tokens as annotator tokens (ANNOTATOR_ISSUERS_FILE naming the
 * sandbox issuer and its JWKS URL, ANNOTATOR_AUDIENCE = the viewer's client id). Every step an EHR
 * and a browser take: hook, save suggestion, launch registration, launch, authorize, token,
 * report, image, annotation; and the refusals on the way.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4';
import type { Card } from '../../src/cards/card.ts';
import { VIEWER_SMART_LINK_LABEL } from '../../src/cards/to-card.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, PROJECT_ROOT } from '../../src/config.ts';
import { createSandboxService } from '../../src/sandbox/sandbox-service.ts';
import { SMART_BASE_PATH } from '../../src/sandbox/smart-auth-server.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';
import type { Service } from '../../src/service/create-service.ts';
import { createService } from '../../src/service/create-service.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { ViewerModel } from '../../src/viewer/viewer-model.ts';
import { freeLoopbackPort } from '../support/free-port.ts';

const CLIENT_ID = 'bcc-cds-viewer';

const openapi = JSON.parse(await readFile(`${PROJECT_ROOT}/cds-hooks/openapi.json`, 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
/** Every viewer answer this test sees, by documented path: each must be listed in cds-hooks/openapi.json. */
const answered: { path: string; method: string; status: number }[] = [];
function noted(res: Response, path: string, method = 'get'): Response {
  answered.push({ path, method, status: res.status });
  return res;
}

interface Running {
  readonly base: string;
  readonly service: Service;
  readonly logs: string[];
  stop(): Promise<void>;
}

async function listen(service: Service, port: number): Promise<Server> {
  const server = service.app.listen(port, '127.0.0.1');
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  return server;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => { ok(); }));
}

/** The Set-Cookie pairs of a response as one Cookie header (what a browser would send back). */
function cookiesOf(res: Response): string {
  return res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').filter((c) => !c.endsWith('=')).join('; ');
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe('the viewer as a SMART app, EHR launch over HTTP (sandbox EHR, production service)', { timeout: 300_000 }, () => {
  let dir: string;
  let ehrStore: SharedStore;
  let ehr: Running;
  let cds: Running;
  let fhirBase: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-cds-smart-'));
    const [ehrPort, cdsPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const ehrBase = `http://127.0.0.1:${ehrPort}`;
    const cdsBase = `http://127.0.0.1:${cdsPort}`;
    fhirBase = `${ehrBase}/fhir`;
    const ehrLogs: string[] = [];
    ehrStore = await openSqliteStore(join(dir, 'ehr.sqlite'));
    const ehrService = await createSandboxService(
      { ...DEFAULT_CONFIG, mode: 'sandbox', port: ehrPort, host: '127.0.0.1', publicBaseUrl: ehrBase, feedbackDbPath: join(dir, 'ehr.sqlite') },
      { log: createLogger((l) => ehrLogs.push(l), 'info'), store: ehrStore, smartRedirectUris: [`${cdsBase}/viewer/callback`] },
    );
    const ehrServer = await listen(ehrService, ehrPort);
    ehr = { base: ehrBase, service: ehrService, logs: ehrLogs, stop: async () => { await close(ehrServer); await ehrService.close(); } };

    const cdsLogs: string[] = [];
    const cdsService = await createService(
      {
        ...DEFAULT_CONFIG,
        mode: 'production',
        port: cdsPort,
        publicBaseUrl: cdsBase,
        allowedFhirServers: [fhirBase],
        feedbackDbPath: join(dir, 'cds.sqlite'),
        annotatorAudience: CLIENT_ID,
        smartClientId: CLIENT_ID,
      },
      {
        log: createLogger((l) => cdsLogs.push(l), 'info'),
        // What ANNOTATOR_ISSUERS_FILE would say: the sandbox EHR's issuer, its keys by URL.
        annotatorIssuers: [{ iss: `${ehrBase}${SMART_BASE_PATH}`, keys: { kind: 'url', url: `${ehrBase}${SMART_BASE_PATH}/jwks.json` }, jkuAllowList: [] }],
      },
    );
    const cdsServer = await listen(cdsService, cdsPort);
    cds = { base: cdsBase, service: cdsService, logs: cdsLogs, stop: async () => { await close(cdsServer); await cdsService.close(); } };
  });

  after(async () => {
    await cds.stop();
    await ehr.stop();
    await ehrStore.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function fhir<T extends FhirResource>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${fhirBase}/${path}`, { method, headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return json<T>(res);
  }

  /** Patient, referral and image in the EHR; the hook; the card; the report filed as the save suggestion says. */
  async function signAndSave(): Promise<{ card: Card; patientId: string; mediaId: string; image: Buffer }> {
    const patient = await fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Launch' }] });
    const referral = await fhir('POST', 'ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'draft',
      intent: 'order',
      performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology' }] },
      subject: { reference: `Patient/${patient.id ?? ''}` },
    });
    const image = await telangiectaticLesionJpeg();
    const media = await fhir('POST', 'Media', {
      resourceType: 'Media',
      status: 'completed',
      basedOn: [{ reference: `ServiceRequest/${referral.id ?? ''}` }],
      subject: { reference: `Patient/${patient.id ?? ''}` },
      content: { contentType: 'image/jpeg', data: image.toString('base64'), title: 'nose.jpg' },
    });
    const hook = await fetch(`${cds.base}/cds-services/bcc-triage-order-sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        hook: 'order-sign',
        hookInstance: crypto.randomUUID(),
        fhirServer: fhirBase,
        context: { userId: 'Practitioner/gp-1', patientId: patient.id, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: referral }] } },
      }),
    });
    assert.equal(hook.status, 200, await hook.clone().text());
    const card = (await json<{ cards: Card[] }>(hook)).cards[0];
    assert.ok(card);
    const save = card.suggestions?.find((s) => s.label === 'Save AI triage report to the chart');
    const entry = (save?.actions ?? []).flatMap((a) => (a.resource?.id ? [{ resource: a.resource, request: { method: 'PUT', url: `${a.resource.resourceType}/${a.resource.id}` } }] : []));
    const applied = await fhir<Bundle>('POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
    assert.ok(applied.entry?.every((e) => e.response?.status.startsWith('2')), JSON.stringify(applied.entry?.map((e) => e.response?.status)));
    return { card, patientId: patient.id ?? '', mediaId: media.id ?? '', image };
  }

  /** The sandbox EHR's part of a launch: register the context, get a launch id. */
  async function registerLaunch(patient: string, appContext: string | undefined): Promise<string> {
    const res = await fetch(`${ehr.base}${SMART_BASE_PATH}/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patient, appContext }) });
    assert.equal(res.status, 201);
    return (await json<{ launch: string }>(res)).launch;
  }

  /** Launch, authorize as `user` (the form a person submits), back at the callback: the code, state and the launch cookie. */
  async function signIn(launchUrl: string, launch: string, user: string): Promise<{ code: string; state: string; cookie: string; authorize: URL }> {
    const started = noted(await fetch(`${launchUrl}?iss=${encodeURIComponent(fhirBase)}&launch=${encodeURIComponent(launch)}`, { redirect: 'manual' }), '/viewer/launch');
    assert.equal(started.status, 302, await started.clone().text());
    const authorize = new URL(started.headers.get('location') ?? '');
    const cookie = cookiesOf(started);
    assert.match(cookie, /^bcc_smart_l_/);
    assert.match(started.headers.getSetCookie()[0] ?? '', /HttpOnly; SameSite=Lax/);
    const page = await fetch(authorize);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Sign in as/);
    const form = new URLSearchParams([...authorize.searchParams.entries(), ['user', user], ['decision', 'allow']]);
    const decided = await fetch(`${ehr.base}${SMART_BASE_PATH}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(decided.status, 303, await decided.clone().text());
    const back = new URL(decided.headers.get('location') ?? '');
    assert.equal(`${back.origin}${back.pathname}`, `${cds.base}/viewer/callback`);
    assert.equal(back.searchParams.get('state'), authorize.searchParams.get('state'));
    return { code: back.searchParams.get('code') ?? '', state: back.searchParams.get('state') ?? '', cookie, authorize };
  }

  it('launches from the card, reads the report and image from the EHR with the token, and annotates as the signed-in annotator', async () => {
    const { card, patientId, mediaId, image } = await signAndSave();
    const link = card.links?.find((l) => l.type === 'smart');
    assert.ok(link, JSON.stringify(card.links));
    assert.equal(link.label, VIEWER_SMART_LINK_LABEL);
    assert.equal(link.url, `${cds.base}/viewer/launch`);
    assert.equal(card.links?.some((l) => l.type === 'absolute'), false, 'production has no absolute viewer link');
    const appContext = JSON.parse(link.appContext ?? '') as { reportId: string; diagnosticReport: string };
    assert.equal(appContext.diagnosticReport, `DiagnosticReport/${appContext.reportId}`);

    const { code, state, cookie, authorize } = await signIn(link.url, await registerLaunch(patientId, link.appContext), 'derm-b');
    const p = Object.fromEntries(authorize.searchParams);
    assert.deepEqual(
      { response_type: p.response_type, client_id: p.client_id, redirect_uri: p.redirect_uri, aud: p.aud, code_challenge_method: p.code_challenge_method },
      { response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${cds.base}/viewer/callback`, aud: fhirBase, code_challenge_method: 'S256' },
    );
    assert.equal(p.scope, DEFAULT_CONFIG.smartScopes);
    assert.match(p.code_challenge ?? '', /^[A-Za-z0-9_-]{43}$/);

    // The callback page, then the exchange the page makes.
    const callbackPage = noted(await fetch(`${cds.base}/viewer/callback?code=${code}&state=${state}`), '/viewer/callback');
    assert.equal(callbackPage.status, 200);
    assert.match(callbackPage.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const exchanged = noted(await fetch(`${cds.base}/viewer/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ code, state }) }), '/viewer/api/token', 'post');
    assert.equal(exchanged.status, 200, await exchanged.clone().text());
    const session = await json<{ accessToken: string; idToken: string; reportId: string; patient: string; fhirServer: string; user: { name: string; sub: string } }>(exchanged);
    assert.equal(session.reportId, appContext.reportId);
    assert.equal(session.patient, patientId);
    assert.equal(session.fhirServer, fhirBase);
    assert.deepEqual({ name: session.user.name, sub: session.user.sub }, { name: 'Demo dermatologist B', sub: 'derm-b' });
    const sessionCookie = cookiesOf(exchanged).split('; ').find((c) => c.startsWith('bcc_smart_s_')) ?? '';
    assert.ok(sessionCookie, exchanged.headers.getSetCookie().join(' | '));
    assert.ok(!exchanged.headers.getSetCookie().join(' ').includes(session.accessToken), 'the token is never in a cookie');

    // The code is used up, and so is the launch: a replay is refused.
    const replay = noted(await fetch(`${cds.base}/viewer/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ code, state }) }), '/viewer/api/token', 'post');
    assert.equal(replay.status, 400);

    const bearer = { authorization: `Bearer ${session.accessToken}`, cookie: sessionCookie };
    const report = noted(await fetch(`${cds.base}/viewer/api/report/${session.reportId}`, { headers: bearer }), '/viewer/api/report/{id}');
    assert.equal(report.status, 200, await report.clone().text());
    const model = await json<ViewerModel>(report);
    assert.equal(model.origin, 'fhir');
    assert.equal(model.reportId, session.reportId);
    assert.equal(model.images[0]?.source, `Media/${mediaId}`);

    const img = noted(await fetch(`${cds.base}/viewer/api/image?ref=Media/${mediaId}`, { headers: bearer }), '/viewer/api/image');
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    assert.ok(Buffer.from(await img.arrayBuffer()).equals(image));

    // Without the cookie that binds the token to its FHIR server: 401, nothing read.
    const unbound = noted(await fetch(`${cds.base}/viewer/api/report/${session.reportId}`, { headers: { authorization: bearer.authorization } }), '/viewer/api/report/{id}');
    const missing = noted(await fetch(`${cds.base}/viewer/api/report/no-such-report`, { headers: bearer }), '/viewer/api/report/{id}');
    assert.equal(missing.status, 404);
    assert.equal(unbound.status, 401);
    assert.equal(unbound.headers.get('www-authenticate'), 'Bearer');

    // The annotation API takes the id_token (aud = client id) as the annotator's token.
    const pattern = model.images[0].patterns[0]?.id ?? '';
    const posted = await fetch(`${cds.base}/annotations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.idToken}` },
      body: JSON.stringify({ report: session.reportId, image: `Media/${mediaId}`, pattern, value: 'present' }),
    });
    assert.equal(posted.status, 201, await posted.clone().text());
    const listed = await fetch(`${cds.base}/annotations?report=${session.reportId}`, { headers: { authorization: `Bearer ${session.idToken}` } });
    const [stored] = (await json<{ annotations: { annotator: { issuer: string; id: string; name: string } }[] }>(listed)).annotations;
    assert.deepEqual(stored?.annotator, { issuer: `${ehr.base}${SMART_BASE_PATH}`, id: 'derm-b', name: 'Demo dermatologist B' });
    // The access token is for the FHIR server, not the annotation API.
    const wrongToken = await fetch(`${cds.base}/annotations?report=${session.reportId}`, { headers: { authorization: `Bearer ${session.accessToken}` } });
    assert.equal(wrongToken.status, 401);

    const logs = [...cds.logs, ...ehr.logs].join('\n');
    for (const secret of [session.accessToken, session.idToken, code, image.toString('base64').slice(0, 64)]) {
      assert.ok(!logs.includes(secret), 'no token, code or image bytes in the logs');
    }
  });

  it('signs in a user without the annotator role: the viewer reads, the annotation API answers 403', async () => {
    const { card, patientId, mediaId } = await signAndSave();
    const link = card.links?.find((l) => l.type === 'smart');
    assert.ok(link);
    const { code, state, cookie } = await signIn(link.url, await registerLaunch(patientId, link.appContext), 'gp-1');
    const session = await json<{ idToken: string; reportId: string }>(
      await fetch(`${cds.base}/viewer/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ code, state }) }),
    );
    const posted = await fetch(`${cds.base}/annotations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.idToken}` },
      body: JSON.stringify({ report: session.reportId, image: `Media/${mediaId}`, pattern: 'pigment_network', value: 'absent' }),
    });
    assert.equal(posted.status, 403);
  });

  it('refuses a report or image about another patient than the one the EHR launched for (403)', async () => {
    const { card, mediaId } = await signAndSave();
    const link = card.links?.find((l) => l.type === 'smart');
    assert.ok(link);
    const other = await fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Other' }] });
    const { code, state, cookie } = await signIn(link.url, await registerLaunch(other.id ?? '', link.appContext), 'derm-a');
    const exchanged = await fetch(`${cds.base}/viewer/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ code, state }) });
    const session = await json<{ accessToken: string; reportId: string }>(exchanged);
    const bearer = { authorization: `Bearer ${session.accessToken}`, cookie: cookiesOf(exchanged).split('; ').find((c) => c.startsWith('bcc_smart_s_')) ?? '' };
    const report = noted(await fetch(`${cds.base}/viewer/api/report/${session.reportId}`, { headers: bearer }), '/viewer/api/report/{id}');
    assert.equal(report.status, 403);
    assert.match((await json<OperationOutcome>(report)).issue[0]?.details?.text ?? '', /not about the patient the EHR launched the viewer for/);
    const img = noted(await fetch(`${cds.base}/viewer/api/image?ref=Media/${mediaId}`, { headers: bearer }), '/viewer/api/image');
    assert.equal(img.status, 403);
  });

  it('refuses a launch from a FHIR server not on the allow-list (400 OperationOutcome naming iss), before fetching anything', async () => {
    const res = noted(await fetch(`${cds.base}/viewer/launch?iss=${encodeURIComponent('https://evil.example.org/fhir')}&launch=x`, { redirect: 'manual' }), '/viewer/launch');
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /application\/fhir\+json/);
    const outcome = await json<OperationOutcome>(res);
    assert.equal(outcome.issue[0]?.expression?.[0], 'iss');
    assert.equal(res.headers.getSetCookie().length, 0);
    const noLaunch = await fetch(`${cds.base}/viewer/launch?iss=${encodeURIComponent(fhirBase)}`, { redirect: 'manual' });
    assert.equal(noLaunch.status, 400);
  });

  it('refuses a token exchange whose state matches no launch from this browser', async () => {
    const res = noted(await fetch(`${cds.base}/viewer/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'c', state: 'forged' }) }), '/viewer/api/token', 'post');
    assert.equal(res.status, 400);
    assert.equal((await json<OperationOutcome>(res)).issue[0]?.expression?.[0], 'state');
  });

  it('the sandbox authorization server refuses an unregistered redirect URI and a missing PKCE challenge', async () => {
    const launch = await registerLaunch('p', undefined);
    const q = (over: Record<string, string>): string =>
      new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${cds.base}/viewer/callback`, launch, scope: 'launch', state: 's', aud: fhirBase, code_challenge: 'c', code_challenge_method: 'S256', ...over }).toString();
    assert.equal((await fetch(`${ehr.base}${SMART_BASE_PATH}/authorize?${q({})}`)).status, 200);
    assert.equal((await fetch(`${ehr.base}${SMART_BASE_PATH}/authorize?${q({ redirect_uri: 'https://evil.example.org/cb' })}`)).status, 400);
    assert.equal((await fetch(`${ehr.base}${SMART_BASE_PATH}/authorize?${q({ code_challenge_method: 'plain' })}`)).status, 400);
    // A code is bound to its PKCE challenge: the wrong verifier gets invalid_grant, and the code is gone.
    const { code } = await signIn(`${cds.base}/viewer/launch`, await registerLaunch('p', undefined), 'derm-c');
    const token = (verifier: string): Promise<Response> =>
      fetch(`${ehr.base}${SMART_BASE_PATH}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${cds.base}/viewer/callback`, client_id: CLIENT_ID, code_verifier: verifier }),
      });
    const wrong = await token('x'.repeat(43));
    assert.equal(wrong.status, 400);
    assert.equal((await json<{ error: string }>(wrong)).error, 'invalid_grant');
    assert.equal((await token('y'.repeat(43))).status, 400);
    const config = await json<{ authorization_endpoint: string; code_challenge_methods_supported: string[] }>(await fetch(`${fhirBase}/.well-known/smart-configuration`));
    assert.equal(config.authorization_endpoint, `${ehr.base}${SMART_BASE_PATH}/authorize`);
    assert.deepEqual(config.code_challenge_methods_supported, ['S256']);
  });

  it('answers only statuses cds-hooks/openapi.json lists for the viewer routes', () => {
    assert.ok(answered.length >= 10, `${answered.length} answers seen`);
    const undocumented = answered.filter((a) => openapi.paths[a.path]?.[a.method]?.responses[String(a.status)] === undefined);
    assert.deepEqual(undocumented, []);
  });
});
