// @ts-check
/**
 * The viewer's SMART session in this tab (issue 18). The EHR launched `/viewer/launch`, the
 * service sent the browser to the EHR's authorize page (PKCE verifier and state in an HttpOnly
 * cookie, never in this script), and the EHR sent it back to `/viewer/callback?code=&state=`.
 * Here the page trades the code for its tokens (POST /viewer/api/token: the service makes the call
 * to the EHR's token endpoint, which this page's CSP could not reach) and keeps them in
 * sessionStorage: gone with the tab, never in localStorage or a cookie. The address bar loses the
 * code at once (history.replaceState to /viewer/smart), so a reload or a copied URL cannot replay it.
 */
import { fetchJson, postJson } from './fhir.js';

/**
 * @typedef {{
 *   accessToken: string, expiresAt: string, reportId: string, diagnosticReport: string, fhirServer: string,
 *   patient?: string, scope?: string, idToken?: string,
 *   user?: { name?: string, fhirUser?: string, sub?: string, iss?: string }
 * }} SmartSession
 */

const KEY = 'bcc-cds.smart-session';
export const CALLBACK_PATH = '/viewer/callback';
export const SMART_PATH = '/viewer/smart';

/** True on the pages the SMART launch lands on (the sandbox's /viewer/<report id> is not one). */
export function isSmartPage() {
  return location.pathname === CALLBACK_PATH || location.pathname === SMART_PATH;
}

/**
 * This tab's session: from the callback's code, or the one kept since. Throws with words for the
 * person at the page when there is none, the EHR refused, or it expired.
 * @returns {Promise<SmartSession>}
 */
export async function smartSession() {
  if (location.pathname === CALLBACK_PATH) {
    const q = new URLSearchParams(location.search);
    // Off the address bar (and history) before anything else: the code is single-use anyway.
    history.replaceState(null, '', SMART_PATH);
    const error = q.get('error');
    if (error) {
      throw new Error(`The EHR did not sign you in (${q.get('error_description') ?? error}). Open the viewer again from the card in the EHR.`);
    }
    const session = /** @type {SmartSession} */ (await postJson('/viewer/api/token', { code: q.get('code') ?? '', state: q.get('state') ?? '' }));
    try {
      sessionStorage.setItem(KEY, JSON.stringify(session));
    } catch {
      // Storage off: the session lives as long as this page does.
    }
    return session;
  }
  /** @type {SmartSession | undefined} */
  let session;
  try {
    const kept = sessionStorage.getItem(KEY);
    session = kept ? /** @type {SmartSession} */ (JSON.parse(kept)) : undefined;
  } catch {
    session = undefined;
  }
  if (!session) {
    throw new Error('This tab has no sign-in for the viewer. Open it from the card in the EHR (the SMART link).');
  }
  if (Date.parse(session.expiresAt) <= Date.now()) {
    forgetSession();
    throw new Error('Your sign-in to the viewer has expired. Open it again from the card in the EHR.');
  }
  return session;
}

export function forgetSession() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing kept.
  }
}

/**
 * GET with the session's access token (the service reads the EHR's FHIR server with it).
 * @param {SmartSession} session
 * @param {string} url
 * @returns {Promise<unknown>}
 */
export function fetchWithToken(session, url) {
  return fetchJson(url, { headers: { authorization: `Bearer ${session.accessToken}` } });
}

/**
 * The report's source image through the service's proxy, as a blob: URL.
 * @param {SmartSession} session
 * @param {string} reference `Media/<id>` or `DocumentReference/<id>`
 * @returns {Promise<string | undefined>}
 */
export async function smartImageUrl(session, reference) {
  const res = await fetch(`/viewer/api/image?ref=${encodeURIComponent(reference)}`, { headers: { authorization: `Bearer ${session.accessToken}` } });
  return res.ok ? URL.createObjectURL(await res.blob()) : undefined;
}
