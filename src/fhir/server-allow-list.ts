/**
 * Which URLs may receive a hook's FHIR access token. The token is a credential for one FHIR base
 * (CDS Hooks 2.0 `fhirServer` + `fhirAuthorization`, https://cds-hooks.hl7.org/2.0/#fhir-resource-access),
 * so a URL qualifies only with the same scheme, host and port and a path at or below the base path.
 * Comparison is on WHATWG-parsed URLs: the parser lowercases hosts, drops default ports and resolves
 * `..` and `%2e%2e` segments, so `https://ehr/fhir/../admin` is judged as `/admin`.
 */

/** Parses an http(s) URL without userinfo; anything else is unusable as a FHIR location. */
function parseHttpUrl(url: string, base?: URL): URL | undefined {
  let u: URL;
  try {
    u = base ? new URL(url, base) : new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return undefined;
  }
  // Userinfo would let a URL look like one host while carrying credentials of its own.
  if (u.username !== '' || u.password !== '') {
    return undefined;
  }
  return u;
}

/** The base path without trailing slashes: `/fhir/` and `/fhir` are the same base; `/` is ''. */
function basePath(u: URL): string {
  return u.pathname.replace(/\/+$/, '');
}

/**
 * True when `url` is the base itself or below it. The prefix must end at a path segment boundary,
 * so `/fhir-evil` is not under `/fhir`. Encoded slashes and backslashes are refused outright: a
 * server that decodes them after routing could be walked out of the base.
 */
export function isUnderBase(url: URL, base: URL): boolean {
  if (url.origin !== base.origin || url.username !== '' || url.password !== '') {
    return false;
  }
  if (/%2f|%5c/i.test(url.pathname)) {
    return false;
  }
  const prefix = basePath(base);
  const path = url.pathname;
  return path === prefix || path === `${prefix}/` || path.startsWith(`${prefix}/`);
}

/**
 * A FHIR base URL (e.g. a hook's `fhirServer`) is allowed when it sits under one configured entry.
 * A `fhirServer` with a query or fragment is not a base URL and is refused.
 */
export function isAllowedFhirServer(url: string, allowed: readonly string[]): boolean {
  const u = parseHttpUrl(url);
  if (u?.search !== '' || u.hash !== '' || url.includes('#') || url.includes('?')) {
    return false;
  }
  return allowed.some((entry) => {
    const base = parseHttpUrl(entry);
    return base !== undefined && isUnderBase(u, base);
  });
}

/**
 * Resolves `url` against a FHIR base (relative `Binary/1` becomes `<base>/Binary/1`) and returns it
 * only when the result is an http(s) URL under that base; otherwise undefined.
 */
export function resolveUnderBase(url: string, base: URL): URL | undefined {
  const withSlash = new URL(base.href);
  withSlash.pathname = `${basePath(base)}/`;
  const u = parseHttpUrl(url, withSlash);
  return u && isUnderBase(u, base) ? u : undefined;
}
