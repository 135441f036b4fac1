import { Client } from 'fhir-kit-client';
import type { RequestOptions } from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';
import { OperationOutcomeError, badGateway, badRequest, forbidden, preconditionFailed, timedOut, tooCostly, unprocessable } from '../common/outcomes.ts';
import { decodeBase64 } from './base64.ts';
import { resolveUnderBase } from './server-allow-list.ts';
import { readCapped } from '../common/read-capped.ts';
import { isRecord } from '../common/is-record.ts';

/**
 * The FHIR server a hook names (`fhirServer`), reached with its token (`fhirAuthorization`): the
 * narrow slice of FHIR the service uses. Everything it returns is untrusted JSON narrowed only to
 * its resourceType; callers read elements defensively.
 */
export interface FhirGateway {
  /** Type-level search, e.g. `search('Media', { 'based-on': 'ServiceRequest/1' })`. */
  search(resourceType: string, params: Readonly<Record<string, string>>): Promise<Bundle>;
  /** `Type/id` (optionally `/_history/v`) or an absolute URL under the base. */
  read(reference: string): Promise<Resource>;
  /** Attachment.url bytes, relative (`Binary/1`) or absolute under the base; at most maxBytes. */
  fetchAttachment(url: string, maxBytes: number): Promise<Buffer>;
}

export interface FhirGatewayOptions {
  readonly baseUrl: string;
  readonly accessToken?: string;
  readonly timeoutMs: number;
  /**
   * For attachment downloads only: fhir-kit-client 2.0.3 calls the global fetch and has no hook to
   * replace it, so search and read always use the global one.
   */
  readonly fetch?: typeof fetch;
}

const REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;
/** Room for the Binary JSON around the base64 when the server answers with a FHIR resource. */
const BINARY_JSON_OVERHEAD = 64 * 1024;
const ATTACHMENT_ACCEPT = 'image/*, application/fhir+json;q=0.9, */*;q=0.1';

/**
 * Security rules, each tested in test/fhir/fhir-gateway.test.ts:
 * - the token goes only to URLs under baseUrl (scheme, host, port, path prefix). fhir-kit-client
 *   sends its headers to any absolute URL it is given, so it is only ever given base-relative paths;
 *   attachments resolve against the base and anything outside it is refused before any request;
 * - redirects are never followed (`redirect: 'manual'`): the target could be anywhere;
 * - attachment bodies are streamed and the download aborted past the cap;
 * - nothing here logs; error messages carry no token, no query string and no bytes.
 */
export function createFhirGateway(opts: FhirGatewayOptions): FhirGateway {
  const base = parseBase(opts.baseUrl);
  const authorization = opts.accessToken ? `Bearer ${opts.accessToken}` : undefined;
  const client = new Client({ baseUrl: base.href.replace(/\/+$/, ''), customHeaders: authorization ? { authorization } : {} });
  const fetchImpl = opts.fetch ?? fetch;
  const requestOptions = (): RequestOptions => ({ signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'manual' });

  return {
    async search(resourceType: string, params: Readonly<Record<string, string>>): Promise<Bundle> {
      if (!RESOURCE_TYPE.test(resourceType)) {
        throw new OperationOutcomeError(badRequest(`not a FHIR resource type: ${resourceType}`));
      }
      const what = `search ${resourceType}`;
      const result = await callClient(() => client.search({ resourceType, searchParams: { ...params }, options: requestOptions() }), what);
      if (!isBundle(result)) {
        throw new OperationOutcomeError(badGateway(`FHIR server answered ${what} with something other than a Bundle`));
      }
      return result;
    },

    async read(reference: string): Promise<Resource> {
      const m = REFERENCE.exec(relativeReference(reference, base));
      const [, resourceType, id, version] = m ?? [];
      if (!resourceType || !id) {
        throw new OperationOutcomeError(unprocessable(`not a FHIR reference the service can read: ${reference}`));
      }
      const what = `read ${resourceType}/${id}`;
      const options = requestOptions();
      const result = await callClient(
        () => (version ? client.vread({ resourceType, id, version, options }) : client.read({ resourceType, id, options })),
        what,
      );
      if (!isResourceOf(result, resourceType)) {
        throw new OperationOutcomeError(badGateway(`FHIR server answered ${what} with something other than a ${resourceType}`));
      }
      return result;
    },

    async fetchAttachment(url: string, maxBytes: number): Promise<Buffer> {
      const target = resolveUnderBase(url, base);
      if (!target) {
        throw new OperationOutcomeError(forbidden(`attachment URL ${describeUrl(url)} is outside the FHIR server ${describeUrl(base.href)}; it was not fetched`));
      }
      const what = `attachment ${describeUrl(target.href)}`;
      // A plain timer, not AbortSignal.any([.., AbortSignal.timeout()]): on Node 20 the combined
      // signal can be garbage-collected and never fire, leaving the request to undici's 300 s timeout.
      const abort = new AbortController();
      const timer = setTimeout(() => { abort.abort(new DOMException(`${what} timed out`, 'TimeoutError')); }, opts.timeoutMs);
      const headers: Record<string, string> = { accept: ATTACHMENT_ACCEPT };
      if (authorization) {
        headers.authorization = authorization;
      }
      try {
        const res = await fetchImpl(target.href, {
          method: 'GET',
          headers,
          redirect: 'manual',
          signal: abort.signal,
        });
        if (!res.ok) {
          abort.abort();
          throw new OperationOutcomeError(outcomeForStatus(res.type === 'opaqueredirect' ? 302 : res.status, what));
        }
        const contentType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        const declaredJson = contentType === 'application/fhir+json' || contentType === 'application/json';
        // Base64 is 4/3 of the bytes; a raw body without a content type may also be Binary JSON.
        const limit = declaredJson || contentType === '' ? Math.ceil(maxBytes / 3) * 4 + BINARY_JSON_OVERHEAD : maxBytes;
        const declaredLength = Number(res.headers.get('content-length') ?? Number.NaN);
        if (declaredLength > limit) {
          abort.abort();
          throw new OperationOutcomeError(tooCostly(`${what} is ${declaredLength} bytes; the limit is ${maxBytes}`));
        }
        const body = await readCapped(res.body, limit, () => { abort.abort(); }, () => new OperationOutcomeError(tooCostly(`${what} is more than ${maxBytes} bytes; download stopped`)));
        if (declaredJson || (contentType === '' && body[0] === 0x7b /* { */)) {
          return binaryData(body, what, maxBytes);
        }
        if (body.length > maxBytes) {
          throw new OperationOutcomeError(tooCostly(`${what} is more than ${maxBytes} bytes`));
        }
        return body;
      } catch (err) {
        throw toOutcomeError(err, what);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function parseBase(baseUrl: string): URL {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch (err) {
    throw new OperationOutcomeError(badRequest('FHIR server base is not a URL', 'fhirServer'), err);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) {
    throw new OperationOutcomeError(badRequest('FHIR server base must be an http(s) URL without credentials, query or fragment', 'fhirServer'));
  }
  return u;
}

/** `Type/id` stays; an absolute URL must lie under the base and becomes base-relative. */
function relativeReference(reference: string, base: URL): string {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(reference)) {
    return reference;
  }
  const u = resolveUnderBase(reference, base);
  if (!u || u.search) {
    throw new OperationOutcomeError(forbidden(`${describeUrl(reference)} is not on the FHIR server ${describeUrl(base.href)}; it was not read`));
  }
  const prefix = base.pathname.replace(/\/+$/, '');
  return u.pathname.slice(prefix.length).replace(/^\/+/, '');
}

async function callClient(call: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    return await call();
  } catch (err) {
    throw toOutcomeError(err, what);
  }
}

/** A FHIR Binary resource as JSON (`{resourceType: 'Binary', data}`): its decoded data. */
function binaryData(body: Buffer, what: string, maxBytes: number): Buffer {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new OperationOutcomeError(unprocessable(`${what} is declared JSON but is not`), err);
  }
  if (!isRecord(json) || json.resourceType !== 'Binary') {
    throw new OperationOutcomeError(unprocessable(`${what} is JSON but not a FHIR Binary`));
  }
  const data = json.data;
  if (typeof data !== 'string') {
    throw new OperationOutcomeError(unprocessable(`${what} is a Binary without data`));
  }
  return decodeBase64(data, maxBytes, 'Binary.data');
}

/**
 * Upstream answers as outcomes. The CDS client sees our status, not the FHIR server's, so a refused
 * token (401/403) or an unreachable server is 412 (CDS Hooks 2.0: the service cannot get its data),
 * a missing resource is 422 (the referral names something that is not there), a redirect is
 * refused as 403, and anything else (5xx above all) is a 502 naming the upstream status: the
 * service worked, its upstream did not.
 */
function outcomeForStatus(status: number, what: string): OperationOutcome {
  if (status === 401 || status === 403) {
    return preconditionFailed(`FHIR server refused the access token for ${what} (HTTP ${status})`);
  }
  if (status === 404 || status === 410) {
    return unprocessable(`${what}: not found on the FHIR server (HTTP ${status})`);
  }
  if ((status >= 300 && status < 400) || status === 0) {
    return forbidden(`${what}: the FHIR server answered with a redirect, which the service does not follow`);
  }
  return badGateway(`${what}: the FHIR server answered HTTP ${status}`);
}

function toOutcomeError(err: unknown, what: string): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) {
    return err;
  }
  if (isTimeout(err)) {
    return new OperationOutcomeError(timedOut(`${what}: the FHIR server did not answer in time`), err);
  }
  const upstream = upstreamAnswer(err);
  if (upstream?.notJson) {
    return new OperationOutcomeError(badGateway(`${what}: the FHIR server answered HTTP ${upstream.status} with ${upstream.contentType}, not FHIR JSON`), err);
  }
  if (upstream) {
    return new OperationOutcomeError(outcomeForStatus(upstream.status, what), err);
  }
  return new OperationOutcomeError(preconditionFailed(`${what}: cannot reach the FHIR server`), err);
}

interface UpstreamAnswer {
  readonly status: number;
  /** A success status whose body did not parse as JSON (an HTML login page, a proxy's text). */
  readonly notJson: boolean;
  readonly contentType: string;
}

/**
 * fhir-kit-client 2.0.3 throws `{ response: { status, data }, config: { headers } }` both for an
 * HTTP error status and for a body it cannot parse as JSON; the latter keeps the upstream status
 * (often 200) and the body as text. A success status in such an error therefore means "not JSON".
 */
function upstreamAnswer(err: unknown): UpstreamAnswer | undefined {
  if (!isRecord(err) || !isRecord(err.response)) {
    return undefined;
  }
  const status = err.response.status;
  if (typeof status !== 'number') {
    return undefined;
  }
  const headers = isRecord(err.config) ? err.config.headers : undefined;
  const contentType = headers instanceof Headers ? mediaType(headers.get('content-type')) : undefined;
  return { status, notJson: status >= 200 && status < 300, contentType: contentType ?? 'a body' };
}

/** `text/html; charset=utf-8` -> `text/html`; anything that is not a plain media type is left out of messages. */
function mediaType(header: string | null): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type && /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(type) ? type : undefined;
}

/** AbortSignal.timeout rejects with a DOMException named TimeoutError (sometimes as the cause). */
function isTimeout(err: unknown): boolean {
  if (!isRecord(err)) {
    return false;
  }
  return err.name === 'TimeoutError' || (isRecord(err.cause) && err.cause.name === 'TimeoutError');
}

/** Origin and path only: a query string may carry a signed-URL secret. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * These guards check resourceType only; the rest of the resource is not validated here, and
 * consumers read its elements through their own guards.
 */
function isBundle(x: unknown): x is Bundle {
  return isRecord(x) && x.resourceType === 'Bundle';
}

function isResourceOf(x: unknown, resourceType: string): x is Resource {
  return isRecord(x) && x.resourceType === resourceType;
}
