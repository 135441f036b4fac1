import { OperationOutcomeError, badGateway, badRequest, timedOut } from '../common/outcomes.ts';
import { readCapped } from '../common/read-capped.ts';
import type { SmartConfiguration, SmartTokenResponse } from './smart-launch.ts';
import { parseSmartConfiguration, parseTokenResponse } from './smart-launch.ts';

/**
 * The viewer's two calls to the EHR's authorization server, made by the service (the browser page
 * may only talk to its own origin): discovery and the code exchange. Same rules as every outbound
 * call of the service: no redirects, a timeout, a size cap; errors name the URL's host, never a
 * token, code or verifier.
 */
export interface SmartClientOptions {
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

const MAX_BYTES = 64 * 1024;

async function callJson(url: string, init: RequestInit, what: string, opts: SmartClientOptions): Promise<{ readonly status: number; readonly json: unknown }> {
  const abort = new AbortController();
  const timer = setTimeout(() => { abort.abort(); }, opts.timeoutMs);
  try {
    const res = await (opts.fetch ?? fetch)(url, { ...init, redirect: 'manual', signal: abort.signal });
    const body = await readCapped(res.body, MAX_BYTES, () => { abort.abort(); }, () => new OperationOutcomeError(badGateway(`${what} answered more than ${MAX_BYTES} bytes`)));
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: res.type === 'opaqueredirect' ? 302 : res.status, json };
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      throw err;
    }
    if (abort.signal.aborted) {
      throw new OperationOutcomeError(timedOut(`${what} did not answer within ${opts.timeoutMs} ms`), err);
    }
    throw new OperationOutcomeError(badGateway(`${what} could not be reached`), err);
  } finally {
    clearTimeout(timer);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** `<iss>/.well-known/smart-configuration` (SMART App Launch 2, "Conformance"). */
export async function discoverSmartConfiguration(iss: string, opts: SmartClientOptions): Promise<SmartConfiguration> {
  const url = `${iss.replace(/\/+$/, '')}/.well-known/smart-configuration`;
  const what = `smart-configuration of ${hostOf(iss)}`;
  const { status, json } = await callJson(url, { headers: { accept: 'application/json' } }, what, opts);
  if (status !== 200) {
    throw new OperationOutcomeError(badGateway(`${what} answered HTTP ${status}`));
  }
  return parseSmartConfiguration(json, iss);
}

export interface CodeExchange {
  readonly code: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly clientId: string;
}

/**
 * The authorization code for tokens, as a public client: `client_id` and the PKCE verifier, no
 * secret. An OAuth error (`invalid_grant`: the code was used, expired or not ours) is a 400 naming
 * `code` that the viewer shows; anything else from the server a 502.
 */
export async function exchangeCode(config: SmartConfiguration, p: CodeExchange, opts: SmartClientOptions): Promise<SmartTokenResponse> {
  const what = `token endpoint of ${hostOf(config.tokenEndpoint)}`;
  const body = new URLSearchParams({ grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri, client_id: p.clientId, code_verifier: p.codeVerifier });
  const { status, json } = await callJson(
    config.tokenEndpoint,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: body.toString() },
    what,
    opts,
  );
  if (status === 400 || status === 401) {
    const error = typeof json === 'object' && json !== null && 'error' in json && typeof json.error === 'string' ? json.error.slice(0, 80) : 'refused';
    throw new OperationOutcomeError(badRequest(`the EHR did not give tokens for this sign-in (${error}): launch the viewer again from the EHR`, 'code'));
  }
  if (status !== 200) {
    throw new OperationOutcomeError(badGateway(`${what} answered HTTP ${status}`));
  }
  return parseTokenResponse(json);
}
