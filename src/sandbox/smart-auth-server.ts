import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import type { Express, Request, Response } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JSONWebKeySet } from 'jose';
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import { isRecord } from '../common/is-record.ts';
import type { Logger } from '../common/logger.ts';
import { DEMO_ANNOTATORS } from './demo-annotators.ts';

/**
 * The sandbox EHR's SMART authorization server (SMART App Launch 2, EHR launch), so the viewer's
 * launch runs for real in the sandbox: the page registers a launch context (`POST
 * /sandbox/smart/launch`) and opens the card's smart link with `iss` and `launch`; the authorize
 * page lets the sandbox user pick who signs in; the token endpoint checks PKCE S256 and answers
 * with a signed access token, `patient`, `appContext` and an OpenID Connect `id_token` (ES256, a
 * key made at start, published at `/sandbox/smart/jwks.json`). Everything is in memory; nothing
 * here is a real identity.
 */

export const SMART_BASE_PATH = '/sandbox/smart';
/** Codes and launches live this long. */
const CODE_SECONDS = 60;
const LAUNCH_SECONDS = 600;
const TOKEN_SECONDS = 3600;
const MAX_ENTRIES = 1000;

/** Who may sign in at the sandbox authorize page: the demo annotators, and one user without the annotator role. */
export const SANDBOX_SMART_USERS: readonly { readonly id: string; readonly name: string; readonly annotator: boolean }[] = [
  ...DEMO_ANNOTATORS.map((a) => ({ ...a, annotator: true })),
  { id: 'gp-1', name: 'Demo family doctor (not an annotator)', annotator: false },
];

export interface SmartAuthServerOptions {
  /** Where browsers reach the sandbox: the endpoints and the issuer are under it. */
  readonly publicBaseUrl: string;
  /** The one registered client: the viewer (config.smartClientId), redirecting to `<publicBaseUrl>/viewer/callback`. */
  readonly clientId: string;
  /** Its registered redirect URIs: the sandbox's own viewer callback, and any other service's that uses this sandbox as its EHR (tests). */
  readonly redirectUris: readonly string[];
  /** The FHIR bases a token may be for (`aud`): the sandbox's own /fhir under each local name. */
  readonly fhirBases: readonly string[];
  /** Where the id_token carries the roles (config.annotatorRoleClaim, a dotted path) and the annotator role. */
  readonly roleClaim: string;
  readonly annotatorRole: string;
  readonly log: Pick<Logger, 'info'>;
  readonly now?: () => number;
}

export interface SmartAuthServer {
  /** The `iss` of its tokens. */
  readonly issuer: string;
  /** Its public keys (what an annotator issuers file would point at). */
  readonly jwks: JSONWebKeySet;
  /** The FHIR server's `.well-known/smart-configuration`. */
  smartConfiguration(): Record<string, unknown>;
  /** Mounts `/sandbox/smart/*`; `/fhir/.well-known/smart-configuration` must be mounted before the FHIR router. */
  mount(app: Express): void;
}

interface LaunchContext {
  readonly patient?: string;
  readonly appContext?: string;
  readonly expiresAt: number;
}

interface IssuedCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scope: string;
  readonly aud: string;
  readonly user: (typeof SANDBOX_SMART_USERS)[number];
  readonly launch: LaunchContext;
  readonly nonce?: string;
  readonly expiresAt: number;
}

function put<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) {
      map.delete(oldest);
    }
  }
  map.set(key, value);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `a.b.c` -> `{ a: { b: { c: value } } }`, for a role claim configured as a dotted path. */
function nested(path: string, value: unknown): Record<string, unknown> {
  const dot = path.indexOf('.');
  return dot < 0 ? { [path]: value } : { [path.slice(0, dot)]: nested(path.slice(dot + 1), value) };
}

const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'launch', 'scope', 'state', 'aud', 'code_challenge', 'code_challenge_method', 'nonce'] as const;
type AuthorizeParams = Partial<Record<(typeof AUTHORIZE_PARAMS)[number], string>>;

export async function createSmartAuthServer(opts: SmartAuthServerOptions): Promise<SmartAuthServer> {
  const now = opts.now ?? Date.now;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const base = `${opts.publicBaseUrl}${SMART_BASE_PATH}`;
  const issuer = base;
  const launches = new Map<string, LaunchContext>();
  const codes = new Map<string, IssuedCode>();

  const sign = (claims: Record<string, unknown>, audience: string, key: CryptoKey): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(Math.floor(now() / 1000))
      .setExpirationTime(Math.floor(now() / 1000) + TOKEN_SECONDS)
      .sign(key);

  /** The request checks an authorization server makes before it shows anything (RFC 6749 4.1.2.1: no redirect to an unchecked URI). */
  const checkAuthorize = (p: AuthorizeParams): LaunchContext => {
    if (p.client_id !== opts.clientId) {
      throw new OperationOutcomeError(badRequest(`unknown client_id: this sandbox registers only ${opts.clientId}`, 'client_id'));
    }
    if (p.redirect_uri === undefined || !opts.redirectUris.includes(p.redirect_uri)) {
      throw new OperationOutcomeError(badRequest(`redirect_uri is not registered (${opts.redirectUris.join(', ')})`, 'redirect_uri'));
    }
    if (p.response_type !== 'code') {
      throw new OperationOutcomeError(badRequest('response_type must be code', 'response_type'));
    }
    if (!p.code_challenge || p.code_challenge_method !== 'S256') {
      throw new OperationOutcomeError(badRequest('PKCE is required: code_challenge with code_challenge_method S256', 'code_challenge'));
    }
    if (!p.state) {
      throw new OperationOutcomeError(badRequest('state is required', 'state'));
    }
    if (!p.aud || !opts.fhirBases.includes(p.aud.replace(/\/+$/, ''))) {
      throw new OperationOutcomeError(badRequest('aud must be this sandbox FHIR server', 'aud'));
    }
    const launch = p.launch ? launches.get(p.launch) : undefined;
    if (!launch || launch.expiresAt < now()) {
      throw new OperationOutcomeError(badRequest('unknown or expired launch: launch the app again from the sandbox page', 'launch'));
    }
    return launch;
  };

  const paramsOf = (source: unknown): AuthorizeParams => {
    const out: AuthorizeParams = {};
    for (const k of AUTHORIZE_PARAMS) {
      const v = isRecord(source) ? source[k] : undefined;
      if (typeof v === 'string') {
        out[k] = v;
      }
    }
    return out;
  };

  const authorizePage = (p: AuthorizeParams, error?: string): string => {
    const hidden = AUTHORIZE_PARAMS.flatMap((k) => (p[k] !== undefined ? [`<input type="hidden" name="${k}" value="${escapeHtml(p[k] ?? '')}">`] : [])).join('\n');
    const users = SANDBOX_SMART_USERS.map(
      (u) => `<div class="choice"><input type="radio" name="user" id="user-${escapeHtml(u.id)}" value="${escapeHtml(u.id)}" required><label for="user-${escapeHtml(u.id)}">${escapeHtml(u.name)}</label></div>`,
    ).join('\n');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Sandbox EHR</title>
<link rel="icon" href="/sandbox/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/sandbox/styles.css">
</head>
<body>
<header class="site-header"><div class="site-header__inner">
<p class="eyebrow">Sandbox EHR · SMART authorization</p>
<h1>Sign in to open the BCC triage viewer</h1>
<p class="disclaimer" role="note"><strong>Sandbox only.</strong> Demo users, no passwords: anyone can pick any of them. A hospital's EHR signs its own staff in here.</p>
</div></header>
<main id="main" class="viewer">
<form class="panel" method="post" action="${SMART_BASE_PATH}/authorize">
${hidden}
${error ? `<p class="status" data-kind="error" role="alert">${escapeHtml(error)}</p>` : ''}
<fieldset>
<legend>Sign in as</legend>
${users}
</fieldset>
<p class="hint">The viewer asks for: <code>${escapeHtml(p.scope ?? '')}</code></p>
<div class="form-actions">
<button type="submit" class="button button--primary" name="decision" value="allow">Sign in and open the viewer</button>
<button type="submit" class="button button--quiet" name="decision" value="deny" formnovalidate>Cancel</button>
</div>
</form>
</main>
</body>
</html>`;
  };

  const pageCsp = (res: Response, p: AuthorizeParams): void => {
    // The form posts here, and the answer redirects to the (checked, registered) viewer callback.
    const back = new URL(p.redirect_uri ?? opts.publicBaseUrl).origin;
    res.setHeader('Content-Security-Policy', ["default-src 'none'", "style-src 'self'", "img-src 'self'", "base-uri 'none'", `form-action 'self' ${back}`, "frame-ancestors 'none'"].join('; '));
  };

  const oauthError = (res: Response, status: number, error: string, description: string): void => {
    res.status(status).json({ error, error_description: description });
  };

  return {
    issuer,
    jwks,
    smartConfiguration: () => ({
      issuer,
      jwks_uri: `${base}/jwks.json`,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      grant_types_supported: ['authorization_code'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['openid', 'fhirUser', 'launch', 'patient/*.rs'],
      code_challenge_methods_supported: ['S256'],
      capabilities: ['launch-ehr', 'client-public', 'context-ehr-patient', 'sso-openid-connect', 'permission-v2', 'permission-patient'],
    }),
    mount(app: Express): void {
      app.get(`${SMART_BASE_PATH}/jwks.json`, (_req, res) => {
        res.json(jwks);
      });

      // The EHR side of an EHR launch: the page registers the context it launches in.
      app.post(`${SMART_BASE_PATH}/launch`, express.json({ limit: 16_384 }), (req: Request, res: Response) => {
        const body: unknown = req.body;
        const patient = isRecord(body) && typeof body.patient === 'string' ? body.patient : undefined;
        const appContext = isRecord(body) && typeof body.appContext === 'string' ? body.appContext : undefined;
        const id = randomBytes(16).toString('base64url');
        put(launches, id, { ...(patient ? { patient } : {}), ...(appContext ? { appContext } : {}), expiresAt: now() + LAUNCH_SECONDS * 1000 });
        res.status(201).json({ launch: id });
      });

      app.get(`${SMART_BASE_PATH}/authorize`, (req: Request, res: Response) => {
        const p = paramsOf(req.query);
        checkAuthorize(p);
        pageCsp(res, p);
        res.type('html').send(authorizePage(p));
      });

      app.post(`${SMART_BASE_PATH}/authorize`, express.urlencoded({ extended: false, limit: 16_384 }), (req: Request, res: Response) => {
        const p = paramsOf(req.body);
        const launch = checkAuthorize(p);
        const back = new URL(p.redirect_uri ?? '');
        back.searchParams.set('state', p.state ?? '');
        const decision: unknown = isRecord(req.body) ? req.body.decision : undefined;
        if (decision !== 'allow') {
          back.searchParams.set('error', 'access_denied');
          back.searchParams.set('error_description', 'the user cancelled the sign-in');
          res.redirect(303, back.href);
          return;
        }
        const userId: unknown = isRecord(req.body) ? req.body.user : undefined;
        const user = SANDBOX_SMART_USERS.find((u) => u.id === userId);
        if (!user) {
          pageCsp(res, p);
          res.status(400).type('html').send(authorizePage(p, 'Choose who signs in.'));
          return;
        }
        const code = randomBytes(24).toString('base64url');
        put(codes, code, {
          clientId: p.client_id ?? '',
          redirectUri: p.redirect_uri ?? '',
          challenge: p.code_challenge ?? '',
          scope: p.scope ?? '',
          aud: (p.aud ?? '').replace(/\/+$/, ''),
          user,
          launch,
          ...(p.nonce ? { nonce: p.nonce } : {}),
          expiresAt: now() + CODE_SECONDS * 1000,
        });
        opts.log.info('sandbox SMART sign-in', { user: user.id });
        back.searchParams.set('code', code);
        res.redirect(303, back.href);
      });

      app.post(`${SMART_BASE_PATH}/token`, express.urlencoded({ extended: false, limit: 16_384 }), async (req: Request, res: Response) => {
        const body: unknown = req.body;
        const field = (k: string): string => (isRecord(body) && typeof body[k] === 'string' ? body[k] : '');
        if (field('grant_type') !== 'authorization_code') {
          oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
          return;
        }
        const issued = codes.get(field('code'));
        // One use, whatever the outcome (RFC 6749 4.1.2).
        codes.delete(field('code'));
        if (!issued || issued.expiresAt < now()) {
          oauthError(res, 400, 'invalid_grant', 'unknown, used or expired code');
          return;
        }
        if (field('client_id') !== issued.clientId || field('redirect_uri') !== issued.redirectUri) {
          oauthError(res, 400, 'invalid_grant', 'client_id or redirect_uri differ from the authorization request');
          return;
        }
        const verifier = field('code_verifier');
        if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || createHash('sha256').update(verifier, 'ascii').digest('base64url') !== issued.challenge) {
          oauthError(res, 400, 'invalid_grant', 'code_verifier does not match the code_challenge');
          return;
        }
        const scopes = issued.scope.split(/\s+/).filter(Boolean);
        const fhirUser = `${issued.aud}/Practitioner/${issued.user.id}`;
        const accessToken = await sign({ sub: issued.user.id, scope: issued.scope, client_id: issued.clientId, ...(issued.launch.patient ? { patient: issued.launch.patient } : {}) }, issued.aud, privateKey);
        const idToken = scopes.includes('openid')
          ? await sign(
              {
                sub: issued.user.id,
                name: issued.user.name,
                ...(scopes.includes('fhirUser') ? { fhirUser } : {}),
                ...(issued.nonce ? { nonce: issued.nonce } : {}),
                ...nested(opts.roleClaim, issued.user.annotator ? [opts.annotatorRole] : []),
              },
              issued.clientId,
              privateKey,
            )
          : undefined;
        res.json({
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: TOKEN_SECONDS,
          scope: issued.scope,
          ...(issued.launch.patient ? { patient: issued.launch.patient } : {}),
          ...(issued.launch.appContext !== undefined ? { appContext: issued.launch.appContext } : {}),
          ...(idToken ? { id_token: idToken } : {}),
          need_patient_banner: true,
        });
      });
    },
  };
}
