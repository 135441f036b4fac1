import { z } from 'zod';
import { OperationOutcomeError, notFound, unprocessable } from '../common/outcomes.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';
import type { ViewerModel } from '../viewer/viewer-model.ts';
import type { AnnotationRecord, AnnotationValue, Annotator } from './annotation-store.ts';
import { ANNOTATION_VALUES } from './annotation-store.ts';
import { readRegionMask } from './region-mask.ts';

/** What the viewer sends for one pattern on one image. */
export interface AnnotationRequest {
  /** The triage report's id (the viewer's `/viewer/<id>`). */
  readonly report: string;
  /** The image as the report names it (`Media/<id>`). */
  readonly image: string;
  readonly pattern: string;
  readonly value: AnnotationValue;
  /** A PNG mask, `data:image/png;base64,...` or bare base64 (src/annotation/region-mask.ts). */
  readonly region?: string;
}

/**
 * The body's shape, with the pattern checked against the installed manifest's pattern ids: all
 * of them, trained or not, since labelling the untrained ones is the point. 400 naming the element.
 */
export function parseAnnotationRequest(body: unknown, patternIds: readonly string[]): AnnotationRequest {
  const known = new Set(patternIds);
  const schema = z
    .object({
      report: z.string().min(1).max(200),
      image: z.string().min(1).max(500),
      pattern: z.string().refine((p) => known.has(p), { error: `unknown pattern; expected one of ${patternIds.join(', ')}` }),
      value: z.enum(ANNOTATION_VALUES),
      region: z.string().min(1).optional(),
    })
    .strict();
  const r = parseOrThrow(schema, body);
  return { report: r.report, image: r.image, pattern: r.pattern, value: r.value, ...(r.region !== undefined ? { region: r.region } : {}) };
}

export interface AnnotationContext {
  /** The report as stored for the viewer; undefined when unknown or evicted. */
  readonly report: ViewerModel | undefined;
  readonly annotator: Annotator;
  /** The id a new annotation gets (a replacement keeps the old one). */
  readonly id: string;
  /** ISO 8601. */
  readonly at: string;
}

/**
 * The record to store: the report must exist (404) and name the image (422); the model version is
 * the report's, the one whose result the annotator saw. Nothing is written here.
 */
export async function toAnnotationRecord(req: AnnotationRequest, ctx: AnnotationContext): Promise<AnnotationRecord> {
  const report = ctx.report;
  if (!report) {
    throw new OperationOutcomeError(notFound(`no triage report "${req.report}" is kept by this service (unknown, or evicted from the store)`, 'report'));
  }
  if (!report.images.some((i) => i.source === req.image)) {
    const names = report.images.map((i) => i.source).filter(Boolean);
    throw new OperationOutcomeError(unprocessable(`"${req.image}" is not an image of report ${req.report}; its images: ${names.join(', ') || 'none'}`, 'image'));
  }
  const region = req.region === undefined ? undefined : await readRegionMask(req.region, 'region');
  const shown = report.images.find((i) => i.source === req.image)?.overlays[0];
  if (region && shown) {
    checkRegionAspect(region, shown);
  }
  return {
    id: ctx.id,
    reportId: report.reportId,
    image: req.image,
    pattern: req.pattern,
    value: req.value,
    annotator: ctx.annotator,
    ...(report.referral ? { referral: report.referral } : {}),
    ...(report.patient ? { patient: report.patient } : {}),
    model: { name: report.model.name, version: report.model.version },
    ...(region ? { region } : {}),
    at: ctx.at,
  };
}

/**
 * A region is drawn over the image as shown, so its sides keep the image's proportions (within a
 * pixel or two of rounding); one that does not would be stretched onto the wrong part of the lesion.
 */
function checkRegionAspect(region: { readonly width: number; readonly height: number }, image: { readonly width: number; readonly height: number }): void {
  const expected = (region.width * image.height) / image.width;
  if (Math.abs(region.height - expected) > Math.max(2, 0.02 * expected)) {
    throw new OperationOutcomeError(
      unprocessable(`region is ${region.width}x${region.height} pixels, but the image is shown at ${image.width}x${image.height}: draw the region at the image's proportions`, 'region'),
    );
  }
}
