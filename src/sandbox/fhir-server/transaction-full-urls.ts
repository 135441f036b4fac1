import { randomUUID } from 'node:crypto';
import { isRecord } from '../../common/is-record.ts';

/**
 * FHIR R4 transactions (https://hl7.org/fhir/R4/http.html#trules): a reference that matches an
 * entry's fullUrl — absolute, or relative `Type/id` under the server's base — points at what that
 * entry creates. Medplum's router rewrites only `urn:uuid:` fullUrls, so a client that POSTs entries
 * with absolute fullUrls (as CDS Hooks clients applying create actions do) would get dangling
 * references. Give such entries a urn:uuid placeholder and rewrite matching references first.
 */
export function placeholderFullUrls(bundle: unknown, baseUrl: string, newUuid: () => string = randomUUID): unknown {
  if (!isRecord(bundle) || bundle.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch') || !Array.isArray(bundle.entry)) {
    return bundle;
  }
  const base = baseUrl.replace(/\/+$/, '');
  const map = new Map<string, string>();
  for (const entry of bundle.entry as unknown[]) {
    if (!isRecord(entry) || typeof entry.fullUrl !== 'string' || entry.fullUrl.startsWith('urn:')) {
      continue;
    }
    const request = entry.request;
    if (!isRecord(request) || request.method !== 'POST') {
      continue;
    }
    const urn = `urn:uuid:${newUuid()}`;
    const full = entry.fullUrl;
    map.set(full, urn);
    const m = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(full);
    if (m?.[1] && (full === `${base}/${m[1]}` || !/^[a-z]+:/i.test(full))) {
      map.set(m[1], urn);
    }
  }
  if (map.size === 0) {
    return bundle;
  }
  return rewrite(bundle, map);
}

function rewrite(value: unknown, map: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => rewrite(v, map));
  }
  if (!isRecord(value)) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = (k === 'reference' || k === 'fullUrl') && typeof v === 'string' && map.has(v) ? map.get(v) : rewrite(v, map);
  }
  return out;
}
