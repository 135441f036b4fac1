import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { OperationOutcomeError, badGateway, badRequest } from '../common/outcomes.ts';
import { isAllowedFhirServer } from '../fhir/server-allow-list.ts';

/**
 * The viewer's side of a SMART App Launch 2 EHR launch, as pure functions: the launch request,
 * the server's `.well-known/smart-configuration`, PKCE, the authorize URL and the token response.
 * The HTTP calls are in smart-client.ts, the routes in src/cds/viewer-routes.ts.
 * {@link https://hl7.org/fhir/smart-app-launch/app-launch.html}
 */

/** Longest `launch` accepted; EHRs send opaque ids, some long (Epic's are ~200 characters). */
const MAX_LAUNCH_CHARS = 2048;

export interface LaunchRequest {
  /** The EHR's FHIR base URL, on the service's allow-list. */
  readonly iss: string;
  /** The EHR's opaque launch id, passed back to its authorize endpoint. */
  readonly launch: string;
}

/**
 * `GET <launch url>?iss=&launch=`: `iss` must be a FHIR server the service may call with a token
 * (FHIR_ALLOWED_SERVERS; in the sandbox its own /fhir). Anything else is a 400 naming the parameter,
 * and nothing is fetched from it.
 */
export function checkLaunchRequest(query: Readonly<Record<string, unknown>>, allowedFhirServers: readonly string[]): LaunchRequest {
  const { iss, launch } = query;
  if (typeof iss !== 'string' || iss === '') {
    throw new OperationOutcomeError(badRequest('iss (the EHR FHIR server) is required: launch the viewer from the EHR', 'iss'));
  }
  if (!isAllowedFhirServer(iss, allowedFhirServers)) {
    throw new OperationOutcomeError(badRequest('iss is not a FHIR server this service trusts (FHIR_ALLOWED_SERVERS)', 'iss'));
  }
  if (typeof launch !== 'string' || launch === '' || launch.length > MAX_LAUNCH_CHARS) {
    throw new OperationOutcomeError(badRequest(`launch (the EHR launch id) is required, at most ${MAX_LAUNCH_CHARS} characters`, 'launch'));
  }
  return { iss: iss.replace(/\/+$/, ''), launch };
}

/** 32 random bytes, base64url: 43 characters, within RFC 7636's 43-128 for the verifier. */
export function newRandomToken(random: (n: number) => Buffer = randomBytes): string {
  return random(32).toString('base64url');
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636: 43-128 characters of [A-Z a-z 0-9 - . _ ~]. */
export function isPkceVerifier(s: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(s);
}

export interface SmartConfiguration {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
}

const smartConfigurationSchema = z.looseObject({
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

/**
 * The endpoints of `<iss>/.well-known/smart-configuration`. SMART 2 servers SHALL support S256 and
 * list it; a list without it is refused (the viewer never falls back to `plain`). The endpoints
 * must be https, or http only when the FHIR server itself is (sandbox, tests).
 */
export function parseSmartConfiguration(json: unknown, iss: string): SmartConfiguration {
  const r = smartConfigurationSchema.safeParse(json);
  if (!r.success) {
    throw new OperationOutcomeError(badGateway(`${iss}/.well-known/smart-configuration has no authorization_endpoint and token_endpoint`));
  }
  const methods = r.data.code_challenge_methods_supported;
  if (methods && !methods.includes('S256')) {
    throw new OperationOutcomeError(badGateway(`${iss}/.well-known/smart-configuration does not offer PKCE S256 (code_challenge_methods_supported)`));
  }
  const allowHttp = new URL(iss).protocol === 'http:';
  const endpoint = (url: string, name: string): string => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new OperationOutcomeError(badGateway(`${iss}/.well-known/smart-configuration: ${name} is not a URL`));
    }
    if (!(u.protocol === 'https:' || (allowHttp && u.protocol === 'http:')) || u.username !== '' || u.password !== '') {
      throw new OperationOutcomeError(badGateway(`${iss}/.well-known/smart-configuration: ${name} must be an https URL`));
    }
    return u.href;
  };
  return { authorizationEndpoint: endpoint(r.data.authorization_endpoint, 'authorization_endpoint'), tokenEndpoint: endpoint(r.data.token_endpoint, 'token_endpoint') };
}

export interface AuthorizeParams {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly state: string;
  readonly codeChallenge: string;
  readonly launch: string;
  /** The FHIR server the token is for: SMART requires `aud` = `iss`. */
  readonly aud: string;
}

/** The authorization request (SMART App Launch 2, "Obtain authorization code"), with PKCE S256. */
export function buildAuthorizeUrl(config: SmartConfiguration, p: AuthorizeParams): string {
  const url = new URL(config.authorizationEndpoint);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    launch: p.launch,
    scope: p.scope,
    state: p.state,
    aud: p.aud,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) {
    url.searchParams.set(k, v);
  }
  return url.href;
}

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().positive().optional(),
  scope: z.string().optional(),
  patient: z.string().max(256).optional(),
  appContext: z.string().max(16_384).optional(),
  id_token: z.string().max(16_384).optional(),
});

export interface SmartTokenResponse {
  readonly accessToken: string;
  readonly expiresIn?: number;
  readonly scope?: string;
  readonly patient?: string;
  readonly appContext?: string;
  readonly idToken?: string;
}

/** The token response (SMART App Launch 2): a Bearer access token, and the launch context beside it. */
export function parseTokenResponse(json: unknown): SmartTokenResponse {
  const r = tokenResponseSchema.safeParse(json);
  if (!r.success) {
    throw new OperationOutcomeError(badGateway('the EHR token endpoint answered without a Bearer access_token'));
  }
  const t = r.data;
  return {
    accessToken: t.access_token,
    ...(t.expires_in !== undefined ? { expiresIn: t.expires_in } : {}),
    ...(t.scope !== undefined ? { scope: t.scope } : {}),
    ...(t.patient !== undefined ? { patient: t.patient } : {}),
    ...(t.appContext !== undefined ? { appContext: t.appContext } : {}),
    ...(t.id_token !== undefined ? { idToken: t.id_token } : {}),
  };
}

/**
 * The cookie that ties an access token to the FHIR server it was issued for, named by a digest of
 * the token: the viewer API sends the token only there, whatever the request says, and two tabs
 * launched from two EHRs do not overwrite each other's binding.
 */
export function sessionCookieName(accessToken: string): string {
  return `bcc_smart_s_${createHash('sha256').update(accessToken).digest('base64url').slice(0, 22)}`;
}

/** The cookie holding one launch's PKCE verifier and FHIR server until the callback, named by its state. */
export function launchCookieName(state: string): string {
  return `bcc_smart_l_${createHash('sha256').update(state).digest('base64url').slice(0, 22)}`;
}
