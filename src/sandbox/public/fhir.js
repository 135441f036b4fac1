// @ts-check
/**
 * The page's FHIR and JSON calls, all to this origin. Errors carry the server's own words
 * (OperationOutcome details) so the person at the page can see what went wrong.
 */

export const FHIR_BASE = `${location.origin}/fhir`;
const FHIR_JSON = 'application/fhir+json';

/**
 * @typedef {{ resourceType: string, id?: string, [key: string]: unknown }} FhirResource
 */

/**
 * @param {unknown} body
 * @returns {string}
 */
function describeError(body) {
  if (body && typeof body === 'object' && 'issue' in body && Array.isArray(body.issue)) {
    return body.issue
      .map((/** @type {{ details?: { text?: string }, diagnostics?: string, code?: string }} */ i) => i.details?.text ?? i.diagnostics ?? i.code ?? '')
      .join('; ');
  }
  return '';
}

/** A refused request: the page can tell 401 (sign in again) and 403 (not allowed) from the rest. */
export class HttpError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<unknown>}
 */
export async function fetchJson(url, init = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  /** @type {unknown} */
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const why = describeError(body);
    throw new HttpError(`${init.method ?? 'GET'} ${new URL(url, location.href).pathname}: HTTP ${res.status}${why ? ` (${why})` : ''}`, res.status);
  }
  return body;
}

/**
 * @param {string} method
 * @param {string} path relative to the FHIR base: `Patient`, `Media/12`, '' for the base
 * @param {unknown} [body]
 * @returns {Promise<FhirResource>}
 */
export async function fhir(method, path, body) {
  const result = await fetchJson(path ? `${FHIR_BASE}/${path}` : FHIR_BASE, {
    method,
    headers: { accept: FHIR_JSON, ...(body === undefined ? {} : { 'content-type': FHIR_JSON }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!result || typeof result !== 'object' || !('resourceType' in result) || typeof result.resourceType !== 'string') {
    throw new Error(`${method} ${path}: the FHIR server answered without a resource`);
  }
  return /** @type {FhirResource} */ (result);
}

/**
 * @param {string} url
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<unknown>}
 */
export function postJson(url, body, headers = {}) {
  return fetchJson(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
