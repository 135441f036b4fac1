import { resolve } from 'node:path';
import type { Express, Request, RequestHandler, Response } from 'express';
import { decodeJwt } from 'jose';
import type { Attachment, DocumentReference, Media, Resource } from 'fhir/r4';
import { PROJECT_ROOT } from '../config.ts';
import type { Logger } from '../common/logger.ts';
import { OperationOutcomeError, badRequest, forbidden, getStatus, notFound, unauthenticated, unprocessable } from '../common/outcomes.ts';
import { isRecord } from '../common/is-record.ts';
import { decodeBase64 } from '../fhir/base64.ts';
import type { FhirGateway, FhirGatewayOptions } from '../fhir/fhir-gateway.ts';
import { createFhirGateway } from '../fhir/fhir-gateway.ts';
import { isAllowedFhirServer } from '../fhir/server-allow-list.ts';
import { tryReadSavedReport } from '../viewer/read-saved-report.ts';
import { discoverSmartConfiguration, exchangeCode } from '../viewer/smart-client.ts';
import { buildAuthorizeUrl, checkLaunchRequest, isPkceVerifier, launchCookieName, newRandomToken, pkceChallenge, sessionCookieName } from '../viewer/smart-launch.ts';
import { parseViewerAppContext } from '../viewer/viewer-app-context.ts';
import type { FhirViewerContext } from '../viewer/viewer-model-fhir.ts';
import { viewerModelFromFhir } from '../viewer/viewer-model-fhir.ts';
import { jsonBody } from './json-body.ts';

/**
 * Scripts and styles only from this origin, so neither a card's markdown nor a FHIR resource can run
 * code or load anything even if rendering let it through. Overlays and thumbnails are data:/blob:
 * URLs made in the page. The sandbox pages use the same policy.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page files (src/sandbox/public, plain ES modules); the viewer serves only its own. */
export const PAGE_DIR = resolve(PROJECT_ROOT, 'src/sandbox/public');
const VIEWER_ASSETS = new Set(['viewer.html', 'viewer.js', 'annotate.js', 'dom.js', 'fhir.js', 'registry.js', 'smart-session.js', 'styles.css', 'favicon.svg']);

/** The card's `smart` link target, where the EHR launches the viewer (`?iss=&launch=`). */
export const VIEWER_LAUNCH_PATH = '/viewer/launch';
/** The redirect URI to register with the EHR's authorization server. */
export const VIEWER_CALLBACK_PATH = '/viewer/callback';
/** Where the viewer stays after the callback (its session lives in the tab's sessionStorage). */
export const VIEWER_SMART_PATH = '/viewer/smart';
const API = '/viewer/api';
/** The launch (PKCE verifier) must come back within this; the authorization server's login page sits in between. */
const LAUNCH_COOKIE_SECONDS = 600;
/** The iss binding outlives no token: the token's own lifetime, at most this. */
const MAX_SESSION_SECONDS = 12 * 3600;

export interface ViewerRouteDeps {
  /** The FHIR servers the service may call with a token: `iss` must be one of them. */
  readonly allowedFhirServers: readonly string[];
  readonly publicBaseUrl: string;
  readonly clientId: string;
  readonly scopes: string;
  readonly timeoutMs: number;
  /** Largest source image the image proxy passes on. */
  readonly maxImageBytes: number;
  readonly viewer: FhirViewerContext;
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly createGateway?: (opts: FhirGatewayOptions) => FhirGateway;
  /** For the calls to the authorization server (tests). */
  readonly fetch?: typeof fetch;
}

const contentSecurityPolicy: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  next();
};

function readCookies(req: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  return out;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const NOT_SIGNED_IN = 'this viewer session is not signed in (or has expired): launch the viewer again from the EHR';

/**
 * The result viewer as a SMART app (issue 18), in production and sandbox alike:
 * - `GET /viewer/launch?iss=&launch=` (EHR launch): `iss` on the FHIR allow-list, its
 *   smart-configuration discovered, then a 302 to its authorize endpoint with PKCE S256, `state`,
 *   `aud` = `iss` and the configured scopes; the verifier and `iss` wait in an HttpOnly cookie;
 * - `GET /viewer/callback` and `/viewer/smart`: the viewer page; `POST /viewer/api/token` exchanges
 *   the code (public client), binds `iss` to the access token in an HttpOnly cookie and gives the
 *   tab its tokens, which it keeps in sessionStorage only;
 * - `GET /viewer/api/report/:id` and `GET /viewer/api/image?ref=`: the report and its source images
 *   read from the EHR's FHIR server with the tab's access token (`Authorization: Bearer`), only from
 *   the server the token was issued for. Tokens and image bytes are never logged.
 */
export function mountViewerRoutes(app: Express, deps: ViewerRouteDeps): void {
  const page: RequestHandler = (_req, res) => {
    res.type('html').sendFile(resolve(PAGE_DIR, 'viewer.html'));
  };
  const secure = deps.publicBaseUrl.startsWith('https:');
  const redirectUri = `${deps.publicBaseUrl}${VIEWER_CALLBACK_PATH}`;
  const client = { timeoutMs: deps.timeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const makeGateway = deps.createGateway ?? createFhirGateway;
  const cookie = (res: Response, name: string, value: string, maxAgeSeconds: number, sameSite: 'Lax' | 'Strict'): void => {
    res.append('Set-Cookie', `${name}=${value}; Path=${API}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=${sameSite}${secure ? '; Secure' : ''}`);
  };

  app.get('/viewer/assets/:file', contentSecurityPolicy, (req, res, next) => {
    const file = String(req.params.file);
    if (!VIEWER_ASSETS.has(file)) {
      next();
      return;
    }
    res.sendFile(resolve(PAGE_DIR, file));
  });

  app.get(VIEWER_LAUNCH_PATH, async (req: Request, res: Response) => {
    const launch = checkLaunchRequest({ ...req.query }, deps.allowedFhirServers);
    const config = await discoverSmartConfiguration(launch.iss, client);
    const state = newRandomToken();
    const verifier = newRandomToken();
    const pending = Buffer.from(JSON.stringify({ verifier, iss: launch.iss })).toString('base64url');
    cookie(res, launchCookieName(state), pending, LAUNCH_COOKIE_SECONDS, 'Lax');
    deps.log.info('viewer launch', { fhirServerHost: new URL(launch.iss).host });
    res.redirect(302, buildAuthorizeUrl(config, { clientId: deps.clientId, redirectUri, scope: deps.scopes, state, codeChallenge: pkceChallenge(verifier), launch: launch.launch, aud: launch.iss }));
  });
  app.get(VIEWER_CALLBACK_PATH, contentSecurityPolicy, page);
  app.get(VIEWER_SMART_PATH, contentSecurityPolicy, page);

  app.post(`${API}/token`, jsonBody(8192), async (req: Request, res: Response) => {
    const code: unknown = isRecord(req.body) ? req.body.code : undefined;
    const state: unknown = isRecord(req.body) ? req.body.state : undefined;
    if (typeof code !== 'string' || code === '' || code.length > 4096) {
      throw new OperationOutcomeError(badRequest('code (from the authorization server redirect) is required', 'code'));
    }
    if (typeof state !== 'string' || state === '' || state.length > 512) {
      throw new OperationOutcomeError(badRequest('state (from the authorization server redirect) is required', 'state'));
    }
    const name = launchCookieName(state);
    const pending = readPendingLaunch(readCookies(req).get(name));
    // One use: the cookie goes whatever happens next.
    cookie(res, name, '', 0, 'Lax');
    if (!pending || !isAllowedFhirServer(pending.iss, deps.allowedFhirServers)) {
      throw new OperationOutcomeError(badRequest('this sign-in does not match a launch from this browser (unknown or expired state): launch the viewer again from the EHR', 'state'));
    }
    const config = await discoverSmartConfiguration(pending.iss, client);
    const tokens = await exchangeCode(config, { code, codeVerifier: pending.verifier, redirectUri, clientId: deps.clientId }, client);
    const context = parseViewerAppContext(tokens.appContext);
    const lifetime = Math.min(Math.round(tokens.expiresIn ?? 3600), MAX_SESSION_SECONDS);
    const binding: SessionBinding = { iss: pending.iss, ...(tokens.patient ? { patient: tokens.patient } : {}) };
    cookie(res, sessionCookieName(tokens.accessToken), Buffer.from(JSON.stringify(binding)).toString('base64url'), lifetime, 'Strict');
    res.json({
      accessToken: tokens.accessToken,
      expiresAt: new Date(Date.now() + lifetime * 1000).toISOString(),
      reportId: context.reportId,
      diagnosticReport: context.diagnosticReport,
      fhirServer: pending.iss,
      ...(tokens.patient ? { patient: tokens.patient } : {}),
      ...(tokens.scope ? { scope: tokens.scope } : {}),
      ...(tokens.idToken ? { idToken: tokens.idToken, user: displayedUser(tokens.idToken) } : {}),
    });
  });

  /** The FHIR server this request's access token was issued for (its cookie), with that token, and the launch's patient. */
  const sessionFor = (req: Request, res: Response): { readonly gateway: FhirGateway; readonly patient?: string } => {
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const binding = token ? readSessionBinding(readCookies(req).get(sessionCookieName(token))) : undefined;
    if (!token || !binding || !isAllowedFhirServer(binding.iss, deps.allowedFhirServers)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new OperationOutcomeError(unauthenticated(NOT_SIGNED_IN));
    }
    return { gateway: makeGateway({ baseUrl: binding.iss, accessToken: token, timeoutMs: deps.timeoutMs }), ...(binding.patient ? { patient: binding.patient } : {}) };
  };

  app.get(`${API}/report/:id`, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const { gateway, patient } = sessionFor(req, res);
    const saved = await refusedTokenAs401(res, () => tryReadSavedReport(gateway, id));
    if (!saved) {
      throw new OperationOutcomeError(notFound(`DiagnosticReport/${id} is not in the EHR's FHIR server: file the report from the card ("Save AI triage report to the chart") first`));
    }
    checkSamePatient(saved.report.subject?.reference, patient, `DiagnosticReport/${id}`);
    res.json(viewerModelFromFhir(saved, deps.viewer));
  });

  app.get(`${API}/image`, async (req: Request, res: Response) => {
    const ref = typeof req.query.ref === 'string' ? req.query.ref : '';
    if (!/^(Media|DocumentReference)\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) {
      throw new OperationOutcomeError(badRequest('ref must be Media/<id> or DocumentReference/<id>', 'ref'));
    }
    const { gateway, patient } = sessionFor(req, res);
    const { contentType, bytes } = await refusedTokenAs401(res, () => readSourceImage(gateway, ref, deps.maxImageBytes, patient));
    res.type(contentType).send(bytes);
  });
}

/** What the session cookie ties to an access token: its FHIR server and the launch's patient. */
interface SessionBinding {
  readonly iss: string;
  readonly patient?: string;
}

/** A cookie this service set: base64url JSON; undefined when absent or not that. */
function cookieJson(value: string | undefined): unknown {
  if (!value) {
    return undefined;
  }
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function readSessionBinding(value: string | undefined): SessionBinding | undefined {
  const json = cookieJson(value);
  const iss = isRecord(json) ? json.iss : undefined;
  const patient = isRecord(json) ? json.patient : undefined;
  return typeof iss === 'string' ? { iss, ...(typeof patient === 'string' ? { patient } : {}) } : undefined;
}

/**
 * The EHR launched the viewer for one patient (the token response's `patient`): a report or image
 * about anyone else is refused, whatever the appContext or the request named. A wrong-patient view
 * is the error that matters most here, so the viewer checks even though the EHR's patient scopes
 * should already prevent it.
 */
function checkSamePatient(subject: string | undefined, patient: string | undefined, what: string): void {
  if (patient === undefined) {
    return;
  }
  const id = subject?.replace(/^.*\bPatient\//, '');
  if (subject === undefined || !/(^|\/)Patient\//.test(subject) || id !== patient) {
    throw new OperationOutcomeError(forbidden(`${what} is not about the patient the EHR launched the viewer for`));
  }
}

function readPendingLaunch(value: string | undefined): { readonly verifier: string; readonly iss: string } | undefined {
  const json = cookieJson(value);
  const verifier = isRecord(json) ? json.verifier : undefined;
  const iss = isRecord(json) ? json.iss : undefined;
  return typeof verifier === 'string' && isPkceVerifier(verifier) && typeof iss === 'string' ? { verifier, iss } : undefined;
}

/**
 * Who signed in, for the page to say so: `name` and `fhirUser` of the id_token, unverified. Only
 * for display; the annotation API verifies the id_token itself on every write.
 */
function displayedUser(idToken: string): { readonly name?: string; readonly fhirUser?: string; readonly sub?: string; readonly iss?: string } {
  try {
    const c = decodeJwt(idToken);
    const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v.slice(0, 200) : undefined);
    const name = text(c.name);
    const fhirUser = text(c.fhirUser);
    const sub = text(c.sub);
    const iss = text(c.iss);
    return { ...(name ? { name } : {}), ...(fhirUser ? { fhirUser } : {}), ...(sub ? { sub } : {}), ...(iss ? { iss } : {}) };
  } catch {
    return {};
  }
}

/** The gateway's "the FHIR server refused the token" (412) is, for the viewer, a sign-in that no longer holds. */
async function refusedTokenAs401<T>(res: Response, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof OperationOutcomeError && getStatus(err.outcome) === 412) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new OperationOutcomeError(unauthenticated(`the EHR's FHIR server refused the access token: ${NOT_SIGNED_IN}`), err);
    }
    throw err;
  }
}

/** The referral image a report names: inline data or its attachment URL under the FHIR base; images only. */
async function readSourceImage(gateway: FhirGateway, ref: string, maxBytes: number, patient: string | undefined): Promise<{ readonly contentType: string; readonly bytes: Buffer }> {
  const resource = await gateway.read(ref);
  checkSamePatient(isMedia(resource) || isDocumentReference(resource) ? resource.subject?.reference : undefined, patient, ref);
  const attachment: Attachment | undefined = isMedia(resource) ? resource.content : isDocumentReference(resource) ? resource.content[0]?.attachment : undefined;
  const contentType = attachment?.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!attachment || !/^image\/[a-z0-9.+-]+$/.test(contentType)) {
    throw new OperationOutcomeError(unprocessable(`${ref} holds no image attachment`));
  }
  if (attachment.data) {
    return { contentType, bytes: decodeBase64(attachment.data, maxBytes, `${ref}.content.data`) };
  }
  if (attachment.url) {
    return { contentType, bytes: await gateway.fetchAttachment(attachment.url, maxBytes) };
  }
  throw new OperationOutcomeError(notFound(`${ref} has neither data nor url`));
}

function isMedia(r: Resource): r is Media {
  return r.resourceType === 'Media';
}
function isDocumentReference(r: Resource): r is DocumentReference {
  return r.resourceType === 'DocumentReference';
}
