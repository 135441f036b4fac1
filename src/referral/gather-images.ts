import type { Resource, ServiceRequest } from 'fhir/r4';
import { atElement } from '../fhir/attachment-bytes.ts';
import type { FhirGateway } from '../fhir/fhir-gateway.ts';
import { OperationOutcomeError, preconditionFailed, unprocessable } from '../common/outcomes.ts';
import { keyOf, parseReference, selectReferralImages, supportingImageReferences } from './referral-images.ts';
import type { ReferralImage } from './referral-images.ts';
import { isRecord } from '../common/is-record.ts';

export interface GatherContext {
  /** The hook's context.patientId: images of another patient are refused. */
  readonly patientId: string;
  readonly prefetch?: Readonly<Record<string, unknown>> | null;
  /** The prefetch template key holding `Media?patient={{context.patientId}}&_count=50`. Default `images`. */
  readonly prefetchKey?: string;
  /** Present when the hook gave a fhirServer the service may call. */
  readonly gateway?: FhirGateway;
}

/** How far a referral's basedOn search goes; more images than this per referral are not triaged anyway. */
const SEARCH_COUNT = '50';

/**
 * The referral's images, from the prefetch where it suffices and the FHIR server where it does not.
 *
 * The prefetch (cds-hooks/services.json `images`) is every Media of the patient. It is used when it
 * is a Bundle; per CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template) a `null` value
 * means the client had no data, an absent key means it did not prefetch, and a 2.0 client may send
 * an OperationOutcome when prefetching failed. The FHIR server is asked `Media?based-on=
 * ServiceRequest/<id>` when the prefetch is unusable, or partial (entries without a resource, a
 * next link, a total above what came), or null (some clients send null for templates they skip).
 * supportingInfo images not in hand are read one by one. When data is needed and neither the
 * prefetch nor a FHIR server can give it, this throws 412 Precondition Failed, as the spec requires.
 * A null or partial prefetch without a FHIR server is taken as it is: the client said what it had.
 *
 * DocumentReferences are found through supportingInfo (or when the prefetch carries them); there is
 * no DocumentReference search, to keep one FHIR query per referral at most.
 */
export async function gatherReferralImages(referral: ServiceRequest, ctx: GatherContext): Promise<ReferralImage[]> {
  const key = ctx.prefetchKey ?? 'images';
  const prefetched = readPrefetch(ctx.prefetch?.[key]);
  const referralId = typeof referral.id === 'string' && referral.id !== '' ? referral.id : undefined;
  const name = referralId ? `ServiceRequest/${referralId}` : 'ServiceRequest';
  const { gateway } = ctx;

  // Without an id nothing can point at the referral through basedOn, so there is nothing to search.
  const searchWanted = referralId !== undefined && prefetched.state !== 'complete';
  if (searchWanted && prefetched.state === 'unusable' && !gateway) {
    throw new OperationOutcomeError(
      preconditionFailed(`the images for ${name} are needed: prefetch.${key} is ${prefetched.why} and the request gives no FHIR server to search`, `prefetch.${key}`),
    );
  }

  const inHand = new Set(prefetched.resources.map(keyOf));
  const toRead = supportingImageReferences(referral).filter((s) => !inHand.has(`${s.key.type}/${s.key.id}`));
  for (const s of toRead) {
    if (s.reference.startsWith('urn:')) {
      throw new OperationOutcomeError(unprocessable(`${s.reference} is not among the resources the service received and cannot be fetched`, s.where));
    }
    if (!gateway) {
      throw new OperationOutcomeError(preconditionFailed(`${s.reference} is not in prefetch.${key} and the request gives no FHIR server to read it from`, s.where));
    }
  }

  const [searched, read] = await Promise.all([
    searchWanted && gateway && referralId ? searchBasedOn(gateway, referralId) : Promise.resolve([]),
    Promise.all(toRead.map((s) => readSupporting(gateway, s.reference, s.where))),
  ]);
  const candidates = [...prefetched.resources, ...searched, ...read];
  const images = selectReferralImages(referral, candidates);
  refuseOtherPatients(images, candidates, ctx.patientId);
  return images;
}

type Prefetched =
  | { readonly state: 'complete' | 'partial' | 'null'; readonly resources: readonly Resource[] }
  | { readonly state: 'unusable'; readonly resources: readonly Resource[]; readonly why: string };

function readPrefetch(value: unknown): Prefetched {
  if (value === null) {
    return { state: 'null', resources: [] };
  }
  if (value === undefined) {
    return { state: 'unusable', resources: [], why: 'absent' };
  }
  if (!isRecord(value) || value.resourceType !== 'Bundle') {
    const type = isRecord(value) && typeof value.resourceType === 'string' ? value.resourceType : typeof value;
    return { state: 'unusable', resources: [], why: `${type} instead of a Bundle` };
  }
  const entries = Array.isArray(value.entry) ? value.entry : [];
  const resources = entries.map((e) => (isRecord(e) ? e.resource : undefined)).filter(isResource);
  const total = value.total;
  const hasNext = Array.isArray(value.link) && value.link.some((l) => isRecord(l) && l.relation === 'next');
  const partial = resources.length < entries.length || hasNext || (typeof total === 'number' && total > resources.length);
  return { state: partial ? 'partial' : 'complete', resources };
}

async function searchBasedOn(gateway: FhirGateway, referralId: string): Promise<Resource[]> {
  const bundle = await gateway.search('Media', { 'based-on': `ServiceRequest/${referralId}`, _count: SEARCH_COUNT });
  return (bundle.entry ?? []).map((e) => (isRecord(e) ? e.resource : undefined)).filter(isResource);
}

async function readSupporting(gateway: FhirGateway | undefined, reference: string, where: string): Promise<Resource> {
  if (!gateway) {
    // Checked by the caller before any I/O starts; kept so the types need no assertion.
    throw new OperationOutcomeError(preconditionFailed(`${reference} cannot be read without a FHIR server`, where));
  }
  try {
    return await gateway.read(reference);
  } catch (err) {
    throw atElement(err, where);
  }
}

/**
 * A wrong image would be triaged as this patient's: an image resource whose subject is another
 * Patient is an integrity error in the record, reported rather than used or silently dropped.
 */
function refuseOtherPatients(images: readonly ReferralImage[], candidates: readonly Resource[], patientId: string): void {
  const byKey = new Map(candidates.map((c) => [keyOf(c), c] as const));
  for (const img of images) {
    const ref = img.source.reference ?? '';
    const resource = byKey.get(ref);
    const subject = isRecord(resource) ? parseReference(resource.subject) : undefined;
    if (subject?.type === 'Patient' && subject.id !== patientId) {
      throw new OperationOutcomeError(unprocessable(`${ref} belongs to another patient than the hook's context.patientId`, `${ref}.subject`));
    }
  }
}

function isResource(x: unknown): x is Resource {
  return isRecord(x) && typeof x.resourceType === 'string';
}
