/**
 * A dermatologist's label of one dermoscopic pattern on one image of one triage report (issue 16):
 * present, absent or cannot tell, optionally with the region drawn on the image. These are the
 * votes `npm run consensus` turns into training labels for the patterns the model has not learnt.
 */

/** What an annotator can say about a pattern on an image. */
export const ANNOTATION_VALUES = ['present', 'absent', 'cannot-tell'] as const;
export type AnnotationValue = (typeof ANNOTATION_VALUES)[number];

/** Who annotated: the token's issuer and subject in production; a named demo annotator in the sandbox. */
export interface Annotator {
  /** The JWT `iss` (production) or the sandbox's demo issuer. */
  readonly issuer: string;
  /** The JWT `sub` or the demo annotator's id: what the CSV's `annotator` column carries. */
  readonly id: string;
  /** The JWT `name`, when the token carries one; the demo annotator's name. */
  readonly name?: string;
}

/** The region drawn on the image: a binary mask, stretched over the image as the viewer's overlays are. */
export interface AnnotationRegion {
  /** A 1-bit PNG, base64 (no data URL prefix): white = inside the region. */
  readonly png: string;
  readonly width: number;
  readonly height: number;
}

/** One annotation as written: the key is (reportId, image, pattern, annotator issuer + id). */
export interface AnnotationRecord {
  /** A new annotation's id (a UUID); a replacement keeps the id of the annotation it replaces. */
  readonly id: string;
  readonly reportId: string;
  /** The image as the report names it (`Media/<id>`). */
  readonly image: string;
  /** A pattern id of the installed model manifest. */
  readonly pattern: string;
  readonly value: AnnotationValue;
  readonly annotator: Annotator;
  /** The referral (`ServiceRequest/<id>`) and patient (`Patient/<id>`) of the report, when it names them. */
  readonly referral?: string;
  readonly patient?: string;
  /** The model whose result the annotator was shown (the report's model). */
  readonly model: { readonly name: string; readonly version: string };
  readonly region?: AnnotationRegion;
  /** When this was written (ISO 8601). */
  readonly at: string;
}

export interface StoredAnnotation extends Omit<AnnotationRecord, 'at'> {
  /** When the first annotation under this key was written. */
  readonly createdAt: string;
  /** When the current one was written (equal to createdAt until it is replaced). */
  readonly updatedAt: string;
}

/** Any combination; none: every annotation (the exports). */
export interface AnnotationFilter {
  readonly reportId?: string;
  readonly image?: string;
  readonly pattern?: string;
}

/**
 * Where annotations are kept, across replicas (a port: src/storage implements it in SQLite and
 * PostgreSQL). One annotation per report, image, pattern and annotator: writing the same key again
 * replaces it whole (a region left out is gone) and keeps its id and createdAt.
 */
export interface AnnotationStore {
  /** Atomic; `replaced` when an annotation under the same key existed. */
  putAnnotation(record: AnnotationRecord): Promise<{ readonly annotation: StoredAnnotation; readonly replaced: boolean }>;
  /** In the order first written. */
  listAnnotations(filter?: AnnotationFilter): Promise<StoredAnnotation[]>;
}
