import type { FhirResource } from 'fhir/r4';
import { isRecord } from '../common/is-record.ts';

function relink(node: unknown, byFullUrl: ReadonlyMap<string, string>): void {
  if (Array.isArray(node)) {
    node.forEach((n) => { relink(n, byFullUrl); });
    return;
  }
  if (!isRecord(node)) {
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference' && typeof v === 'string') {
      const relative = byFullUrl.get(v);
      if (relative) {
        node[k] = relative;
      }
    } else {
      relink(v, byFullUrl);
    }
  }
}

/**
 * A copy of `resource` whose `urn:uuid:<id>` references point at `Type/<id>` instead.
 * CDS Hooks 2.0 has the client apply a suggestion's actions "as per FHIR's rules for processing
 * transactions with the CDS Client's fhirServer as the base url for the inferred full URL": the
 * client infers `<fhirServer>/Type/<id>` for each created resource, never our `urn:uuid:`. A
 * relative `Type/<id>` reference resolves to that inferred fullUrl, so the links survive.
 * `fullUrls` maps `Type/id` to `urn:uuid:id` (TriageReport.fullUrls).
 */
export function toClientReferences<T extends FhirResource>(resource: T, fullUrls: ReadonlyMap<string, string>): T {
  const byFullUrl = new Map([...fullUrls].map(([relative, urn]) => [urn, relative] as const));
  const copy = structuredClone(resource);
  relink(copy, byFullUrl);
  return copy;
}
