import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { formatConsensusCsv } from '../annotation/annotation-csv.ts';
import type { AnnotationFhirContext } from '../annotation/annotation-fhir.ts';
import { toAnnotationBundle } from '../annotation/annotation-fhir.ts';
import { parseAnnotationRequest, toAnnotationRecord } from '../annotation/annotation-request.ts';
import type { Annotator, AnnotationStore, StoredAnnotation } from '../annotation/annotation-store.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';
import type { ReportRecords } from '../viewer/report-store.ts';
import type { AnnotatorAuth } from './auth/annotator-auth.ts';
import { jsonBody } from './json-body.ts';

/** A request body: one annotation with a region mask of at most 256 KiB (base64: ~342 KiB) and room to spare. */
export const ANNOTATION_BODY_LIMIT = 512 * 1024;

export interface AnnotationRouteDeps {
  readonly store: AnnotationStore;
  /** The results the viewer shows: an annotation must name a kept report and one of its images. */
  readonly reports: Pick<ReportRecords, 'tryGetReport'>;
  /** The installed manifest's patterns, all of them (trained or not). */
  readonly patterns: AnnotationFhirContext['patterns'];
  readonly terminology: AnnotationFhirContext['terminology'];
  readonly auth: AnnotatorAuth;
  readonly clock?: () => Date;
  readonly newId?: () => string;
}

const ANNOTATOR = 'annotator';

const listQuery = z
  .object({
    report: z.string().min(1).optional(),
    image: z.string().min(1).optional(),
    pattern: z.string().min(1).optional(),
  })
  .strict();

/**
 * The annotation API (issue 16): dermatologists label the seven dermoscopic patterns on a kept
 * report's images; the ML team exports the labels for `npm run consensus` (CSV) or as FHIR.
 * Authentication comes first, then the body; bad input is a 4xx OperationOutcome and nothing is stored.
 */
export function mountAnnotationRoutes(app: Express, deps: AnnotationRouteDeps): void {
  const clock = deps.clock ?? ((): Date => new Date());
  const newId = deps.newId ?? randomUUID;
  const patternIds = deps.patterns.map((p) => p.id);
  const json = jsonBody(ANNOTATION_BODY_LIMIT);
  const writer: RequestHandler = async (req, res, next) => {
    res.locals[ANNOTATOR] = await deps.auth.annotator(req, res);
    next();
  };
  const reader: RequestHandler = async (req, res, next) => {
    await deps.auth.allowRead(req, res);
    next();
  };

  app.get('/annotations/annotators', (_req, res) => {
    res.json(deps.auth.directory);
  });

  app.post('/annotations', writer, json, async (req: Request, res: Response) => {
    const annotator = res.locals[ANNOTATOR] as Annotator;
    const request = parseAnnotationRequest(req.body, patternIds);
    const stored = await deps.reports.tryGetReport(request.report);
    const record = await toAnnotationRecord(request, { report: stored?.viewer, annotator, id: newId(), at: clock().toISOString() });
    const { annotation, replaced } = await deps.store.putAnnotation(record);
    res.status(replaced ? 200 : 201).json({ replaced, annotation: toJson(annotation) });
  });

  app.get('/annotations', reader, async (req: Request, res: Response) => {
    const q = parseOrThrow(listQuery, { ...req.query }, 'query');
    const annotations = await deps.store.listAnnotations({
      ...(q.report !== undefined ? { reportId: q.report } : {}),
      ...(q.image !== undefined ? { image: q.image } : {}),
      ...(q.pattern !== undefined ? { pattern: q.pattern } : {}),
    });
    res.json({ annotations: annotations.map(toJson) });
  });

  app.get('/annotations/export.csv', reader, async (_req: Request, res: Response) => {
    res.type('text/csv; charset=utf-8').attachment('annotations.csv').send(formatConsensusCsv(await deps.store.listAnnotations()));
  });

  app.get('/annotations/export.fhir', reader, async (_req: Request, res: Response) => {
    const bundle = toAnnotationBundle(await deps.store.listAnnotations(), { terminology: deps.terminology, patterns: deps.patterns, now: clock().toISOString() });
    res.type('application/fhir+json').json(bundle);
  });
}

/** The stored annotation, its region as a data URL (what the viewer draws, and sends). */
function toJson(a: StoredAnnotation): Record<string, unknown> {
  return { ...a, ...(a.region ? { region: { ...a.region, png: `data:image/png;base64,${a.region.png}` } } : {}) };
}
