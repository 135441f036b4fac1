import type { Reference, ServiceRequest } from 'fhir/r4';

/** FHIR R4 id: 1 to 64 of A-Z, a-z, 0-9, `-` and `.`. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * How the report's resources point at the referral in `basedOn`. The referral stays on the EHR's
 * server, so `ServiceRequest/<id>` when it has an id. A draft order may have none yet: then a
 * logical reference by its business identifier (system and value, nothing else copied from the
 * untrusted draft), which still finds the referral whatever id the EHR gives it on signing. With
 * neither, undefined and no `basedOn` at all: an invented id would resolve to nothing, or to the
 * wrong referral.
 */
export function referralReference(referral: ServiceRequest): Reference | undefined {
  const id: unknown = referral.id;
  if (typeof id === 'string' && FHIR_ID.test(id)) {
    return { reference: `ServiceRequest/${id}` };
  }
  const identifiers: unknown = referral.identifier;
  const usable = Array.isArray(identifiers) ? identifiers.find(isSystemAndValue) : undefined;
  return usable ? { type: 'ServiceRequest', identifier: { system: usable.system, value: usable.value } } : undefined;
}

function isSystemAndValue(x: unknown): x is { readonly system: string; readonly value: string } {
  return typeof x === 'object' && x !== null && 'system' in x && 'value' in x && typeof x.system === 'string' && x.system !== '' && typeof x.value === 'string' && x.value !== '';
}
