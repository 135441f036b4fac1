import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import type { TriageReport } from './triage-report.ts';

/** Resources in the order a server that ignores transaction semantics could still apply them. */
export function reportResources(report: TriageReport): FhirResource[] {
  const r = report.resources;
  return [r.modelCard, r.device, ...r.media, ...r.observations, r.report, r.provenance];
}

/**
 * The report as one FHIR transaction: each entry's fullUrl is `urn:uuid:<id>`, which is exactly
 * what the resources reference, so the server rewrites every link to the ids it assigns. The model
 * Device and its model card DocumentReference are conditional creates on the manifest digest: one of
 * each per model version (learned versions share the network's sha256, so that alone would link them
 * to another version's Device), not one per referral.
 */
export function toTransactionBundle(report: TriageReport): Bundle {
  const entry: BundleEntry[] = reportResources(report).map((resource) => {
    const fullUrl = `urn:uuid:${resource.id ?? ''}`;
    if (resource.resourceType === 'Device' || resource.resourceType === 'DocumentReference') {
      // The last identifier is the most specific (manifest digest, after the network's sha256).
      const id = resource.identifier?.at(-1);
      return {
        fullUrl,
        resource,
        request: { method: 'POST', url: resource.resourceType, ...(id?.system && id.value ? { ifNoneExist: `identifier=${id.system}|${id.value}` } : {}) },
      };
    }
    return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType } };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
