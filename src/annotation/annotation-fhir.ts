import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, Media, Observation, Reference } from 'fhir/r4';
import type { Terminology } from '../report/terminology.ts';
import { toCoding } from '../report/terminology.ts';
import type { StoredAnnotation } from './annotation-store.ts';

/** R4's data-absent-reason: the annotator was shown the image and does not know. */
const CANNOT_TELL = { system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'asked-unknown', display: 'Asked But Unknown' } as const;

export interface AnnotationFhirContext {
  readonly terminology: Pick<Terminology, 'canonicalBase' | 'codeSystems' | 'observation' | 'media'>;
  /** The manifest's patterns, for the codes' displays. */
  readonly patterns: readonly { readonly id: string; readonly display: string }[];
  /** Bundle.timestamp (ISO 8601). */
  readonly now: string;
}

/**
 * R4 Observation can point at neither a DiagnosticReport (basedOn, partOf and derivedFrom do not
 * allow it) nor a model version, so both travel in extensions of our canonical base. Not yet
 * profiled in fhir-profiles/ (a later slice of issue 16).
 */
export function annotationExtensionUrls(canonicalBase: string): { readonly report: string; readonly modelShown: string } {
  return { report: `${canonicalBase}/StructureDefinition/annotation-report`, modelShown: `${canonicalBase}/StructureDefinition/annotation-model-shown` };
}

/**
 * The annotations as a FHIR R4 collection Bundle: one Observation each (code = the pattern in the
 * dermoscopic-pattern code system; valueBoolean for present/absent, dataAbsentReason for cannot
 * tell; performer = the annotator by identifier; derivedFrom = the image, and the region's mask
 * Media when one was drawn) and that mask Media (1-bit PNG). Entries are `urn:uuid:` the
 * annotation's id; a mask's id is derived from it, so exporting twice gives the same Bundle.
 */
export function toAnnotationBundle(annotations: readonly StoredAnnotation[], ctx: AnnotationFhirContext): Bundle {
  const entry: BundleEntry[] = annotations.flatMap((a) => {
    const maskId = a.region ? derivedUuid(`${a.id}/region`) : undefined;
    const observation = toObservation(a, ctx, maskId);
    const mask = a.region && maskId ? toMaskMedia(a, ctx, maskId) : undefined;
    return [{ fullUrl: `urn:uuid:${a.id}`, resource: observation }, ...(mask && maskId ? [{ fullUrl: `urn:uuid:${maskId}`, resource: mask }] : [])];
  });
  return { resourceType: 'Bundle', type: 'collection', timestamp: ctx.now, entry };
}

function displayOf(ctx: AnnotationFhirContext, pattern: string): string {
  return ctx.patterns.find((p) => p.id === pattern)?.display ?? pattern;
}

function performer(a: StoredAnnotation): Reference {
  return { type: 'Practitioner', identifier: { system: a.annotator.issuer, value: a.annotator.id }, display: a.annotator.name ?? a.annotator.id };
}

function toObservation(a: StoredAnnotation, ctx: AnnotationFhirContext, maskId: string | undefined): Observation {
  const t = ctx.terminology;
  const display = displayOf(ctx, a.pattern);
  const ext = annotationExtensionUrls(t.canonicalBase);
  const model = `${a.model.name} ${a.model.version}`;
  return {
    resourceType: 'Observation',
    id: a.id,
    extension: [
      { url: ext.report, valueReference: { reference: `DiagnosticReport/${a.reportId}` } },
      { url: ext.modelShown, valueString: model },
    ],
    ...(a.referral ? { basedOn: [{ reference: a.referral }] } : {}),
    status: 'final',
    category: [{ coding: [toCoding(t.observation.category)] }],
    code: { coding: [{ system: t.codeSystems.dermoscopicPattern.url, code: a.pattern, display }], text: display },
    ...(a.patient ? { subject: { reference: a.patient } } : {}),
    effectiveDateTime: a.updatedAt,
    issued: a.updatedAt,
    performer: [performer(a)],
    ...(a.value === 'cannot-tell' ? { dataAbsentReason: { coding: [{ ...CANNOT_TELL }], text: 'cannot tell' } } : { valueBoolean: a.value === 'present' }),
    derivedFrom: [{ reference: a.image }, ...(maskId ? [{ reference: `urn:uuid:${maskId}`, display: `Region of ${display}` }] : [])],
    note: [{ text: `${display}: ${a.value}, by ${a.annotator.name ?? a.annotator.id}, on ${a.image} of DiagnosticReport/${a.reportId} (model shown: ${model}).` }],
  };
}

function toMaskMedia(a: StoredAnnotation, ctx: AnnotationFhirContext, id: string): Media | undefined {
  const region = a.region;
  if (!region) {
    return undefined;
  }
  const display = displayOf(ctx, a.pattern);
  return {
    resourceType: 'Media',
    id,
    ...(a.referral ? { basedOn: [{ reference: a.referral }] } : {}),
    status: 'completed',
    type: { coding: [toCoding(ctx.terminology.media.type)] },
    ...(a.patient ? { subject: { reference: a.patient } } : {}),
    createdDateTime: a.updatedAt,
    issued: a.updatedAt,
    operator: performer(a),
    width: region.width,
    height: region.height,
    content: { contentType: 'image/png', data: region.png, title: `Region of ${display}` },
    note: [{ text: `Where ${a.annotator.name ?? a.annotator.id} saw ${display} on ${a.image}: white = inside; stretched over the image.` }],
  };
}

/** A stable UUID (RFC 9562 version 8, name-based on SHA-256) for a resource derived from an annotation. */
function derivedUuid(name: string): string {
  const h = createHash('sha256').update(name).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
