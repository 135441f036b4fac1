import type { Attachment, CodeableConcept, DocumentReference, Media, Reference, Resource, ServiceRequest } from 'fhir/r4';
import type { ImageFormat } from '../imaging/decode.ts';
import { isRecord } from '../common/is-record.ts';

/** One image of a referral: where it came from and the attachment that holds (or points at) its bytes. */
export interface ReferralImage {
  /** The resource holding the image: `Media/123` or `DocumentReference/9`. */
  readonly source: Reference;
  readonly attachment: Attachment;
  /** What a person sees on the card: the attachment title, else body site, else the reference. */
  readonly label: string;
  readonly bodySite?: CodeableConcept;
  /** Element path for errors, e.g. `Media/123.content`, `DocumentReference/9.content[1].attachment`. */
  readonly where: string;
}

/**
 * MIME types per decoder format. Typed against the decoder's ImageFormat (a type-only import, so this
 * pure module does not load sharp): adding a decoder format fails to compile until it is listed here.
 * `image/jpg` is not registered but is common in the wild.
 */
const IMAGE_CONTENT_TYPES: Readonly<Record<ImageFormat, readonly string[]>> = {
  jpeg: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  png: ['image/png'],
  webp: ['image/webp'],
  tiff: ['image/tiff'],
};
const ACCEPTED_CONTENT_TYPES: ReadonlySet<string> = new Set(Object.values(IMAGE_CONTENT_TYPES).flat());

/**
 * True for a content type the decoder reads. A missing contentType is kept: the decoder reads the
 * header and refuses what it cannot read, naming the element.
 */
export function isImageContentType(contentType: unknown): boolean {
  if (contentType === undefined) {
    return true;
  }
  if (typeof contentType !== 'string') {
    return false;
  }
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return ACCEPTED_CONTENT_TYPES.has(mime);
}

/** What a Reference names, reduced to type and id. */
export interface ResourceKey {
  readonly type: string;
  readonly id: string;
}

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE_TAIL = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Reads `Type/id`, an absolute `https://host/base/Type/id` (a version suffix is ignored), or
 * `urn:uuid:<x>` with Reference.type. A urn names a resource inside the sender's own Bundle; we
 * take `urn:uuid:<x>` to name the resource whose id is `<x>`, which is how CDS clients that build
 * draft-order Bundles commonly fill fullUrl. Contained (`#x`) and identifier-only references are
 * not read.
 */
export function parseReference(ref: unknown): ResourceKey | undefined {
  if (!isRecord(ref) || typeof ref.reference !== 'string') {
    return undefined;
  }
  const reference = ref.reference;
  const declaredType = typeof ref.type === 'string' ? ref.type : undefined;
  if (reference.startsWith('urn:uuid:')) {
    const id = reference.slice('urn:uuid:'.length);
    return declaredType && id ? { type: declaredType, id } : undefined;
  }
  const m = /^https?:\/\//i.test(reference) ? ABSOLUTE_TAIL.exec(reference) : RELATIVE.exec(reference);
  if (!m?.[1] || !m[2]) {
    return undefined;
  }
  return { type: m[1], id: m[2] };
}

/** True when the Reference points at the ServiceRequest (any of the forms parseReference reads). */
export function pointsAtReferral(ref: unknown, referral: ServiceRequest): boolean {
  if (!referral.id || !isRecord(ref)) {
    return false;
  }
  // An untyped urn can still name the referral: its uuid is the referral's id.
  if (ref.reference === `urn:uuid:${referral.id}`) {
    return true;
  }
  const key = parseReference(ref);
  return key?.type === 'ServiceRequest' && key.id === referral.id;
}

/** A supportingInfo entry that names an image-bearing resource. */
export interface SupportingImageReference {
  readonly key: ResourceKey;
  /** The reference as written, e.g. `Media/1` or `https://ehr.example.org/fhir/Media/1`. */
  readonly reference: string;
  /** e.g. `ServiceRequest/abc.supportingInfo[1]`. */
  readonly where: string;
}

/**
 * The supportingInfo entries that name a Media or DocumentReference, in order. Other entries
 * (Observations, Conditions, questionnaires) are not images and are left alone.
 */
export function supportingImageReferences(referral: ServiceRequest): SupportingImageReference[] {
  const name = referral.id ? `ServiceRequest/${referral.id}` : 'ServiceRequest';
  const out: SupportingImageReference[] = [];
  asArray(referral.supportingInfo).forEach((ref, i) => {
    const key = parseReference(ref);
    const reference = isRecord(ref) ? ref.reference : undefined;
    if (key && typeof reference === 'string' && (key.type === 'Media' || key.type === 'DocumentReference')) {
      out.push({ key, reference, where: `${name}.supportingInfo[${i}]` });
    }
  });
  return out;
}

export function keyOf(r: Resource): string | undefined {
  return typeof r.id === 'string' && r.id !== '' ? `${r.resourceType}/${r.id}` : undefined;
}

/**
 * The images that belong to the referral, from resources found elsewhere (prefetch, searches, reads).
 * A Media belongs when its basedOn points at the referral; a DocumentReference when its
 * context.related does; either when the referral lists it in supportingInfo. Each image attachment
 * of a DocumentReference is its own image. Listed-in-supportingInfo images come first, in that
 * order, then the rest in candidate order; duplicates (the same resource from two sources, or
 * listed twice) appear once. Candidates without an id cannot be named and are skipped; records
 * marked entered-in-error (or superseded, or a Media not done) are not images of this referral.
 */
export function selectReferralImages(referral: ServiceRequest, candidates: readonly Resource[]): ReferralImage[] {
  const byKey = new Map<string, Media | DocumentReference>();
  for (const c of candidates) {
    const key = keyOf(c);
    if (key && (isMedia(c) || isDocumentReference(c)) && !byKey.has(key)) {
      byKey.set(key, c);
    }
  }
  const chosen = new Map<string, Media | DocumentReference>();
  for (const s of supportingImageReferences(referral)) {
    const k = `${s.key.type}/${s.key.id}`;
    const r = byKey.get(k);
    if (r && !chosen.has(k)) {
      chosen.set(k, r);
    }
  }
  for (const [k, r] of byKey) {
    if (!chosen.has(k) && linksToReferral(r, referral)) {
      chosen.set(k, r);
    }
  }
  const images: ReferralImage[] = [];
  const seen = new Set<string>();
  for (const [k, r] of chosen) {
    for (const img of isMedia(r) ? mediaImages(r, k) : documentImages(r, k)) {
      if (!seen.has(img.where)) {
        seen.add(img.where);
        images.push(img);
      }
    }
  }
  return images;
}

function linksToReferral(r: Media | DocumentReference, referral: ServiceRequest): boolean {
  const links = isMedia(r) ? asArray(r.basedOn) : asArray(isRecord(r.context) ? r.context.related : undefined);
  return links.some((ref) => pointsAtReferral(ref, referral));
}

function mediaImages(m: Media, key: string): ReferralImage[] {
  if (m.status === 'entered-in-error' || m.status === 'not-done') {
    return [];
  }
  const attachment: unknown = m.content;
  if (!isAttachment(attachment) || !isImageContentType(attachment.contentType)) {
    return [];
  }
  const bodySite = isRecord(m.bodySite) ? m.bodySite : undefined;
  return [
    {
      source: { reference: key, type: 'Media' },
      attachment,
      label: nonEmpty(attachment.title) ?? nonEmpty(bodySite?.text) ?? firstDisplay(bodySite) ?? key,
      ...(bodySite ? { bodySite } : {}),
      where: `${key}.content`,
    },
  ];
}

function documentImages(d: DocumentReference, key: string): ReferralImage[] {
  if (d.status === 'entered-in-error' || d.status === 'superseded' || d.docStatus === 'entered-in-error') {
    return [];
  }
  const out: ReferralImage[] = [];
  asArray(d.content).forEach((c, i) => {
    const attachment: unknown = isRecord(c) ? c.attachment : undefined;
    if (!isAttachment(attachment) || !isImageContentType(attachment.contentType)) {
      return;
    }
    out.push({
      source: { reference: key, type: 'DocumentReference' },
      attachment,
      label: nonEmpty(attachment.title) ?? nonEmpty(d.description) ?? `${key} image ${i + 1}`,
      where: `${key}.content[${i}].attachment`,
    });
  });
  return out;
}

function isMedia(r: Resource): r is Media {
  return r.resourceType === 'Media';
}

function isDocumentReference(r: Resource): r is DocumentReference {
  return r.resourceType === 'DocumentReference';
}

/** An object whose data, url and contentType, when present, are strings (the elements we read). */
function isAttachment(x: unknown): x is Attachment {
  return isRecord(x) && ['data', 'url', 'contentType', 'title'].every((k) => x[k] === undefined || typeof x[k] === 'string');
}

function firstDisplay(cc: CodeableConcept | undefined): string | undefined {
  const coding = asArray(cc?.coding).find((c) => isRecord(c) && typeof c.display === 'string' && c.display !== '');
  return isRecord(coding) && typeof coding.display === 'string' ? coding.display : undefined;
}

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s.trim() !== '' ? s : undefined;
}

function asArray(x: unknown): readonly unknown[] {
  return Array.isArray(x) ? x : [];
}
