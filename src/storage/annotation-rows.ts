/** Annotation row <-> record mapping shared by both store implementations, so they cannot disagree. */
import type { AnnotationFilter, AnnotationRecord, StoredAnnotation } from '../annotation/annotation-store.ts';
import { ANNOTATION_VALUES } from '../annotation/annotation-store.ts';

/** Insert columns, in the order of annotationParams. */
export const ANNOTATION_INSERT_COLUMNS =
  'id, report_id, image, pattern, annotator_issuer, annotator_id, annotator_name, value, referral, patient, model_name, model_version, region_png, region_width, region_height, created_at, updated_at';

/** What a replacement overwrites: everything but the key, the id and created_at. */
export const ANNOTATION_ON_CONFLICT = `ON CONFLICT (report_id, image, pattern, annotator_issuer, annotator_id) DO UPDATE SET
  annotator_name = excluded.annotator_name, value = excluded.value, referral = excluded.referral, patient = excluded.patient,
  model_name = excluded.model_name, model_version = excluded.model_version, region_png = excluded.region_png,
  region_width = excluded.region_width, region_height = excluded.region_height, updated_at = excluded.updated_at
  RETURNING *`;

export function annotationParams(a: AnnotationRecord): (string | number | null)[] {
  return [
    a.id,
    a.reportId,
    a.image,
    a.pattern,
    a.annotator.issuer,
    a.annotator.id,
    a.annotator.name ?? null,
    a.value,
    a.referral ?? null,
    a.patient ?? null,
    a.model.name,
    a.model.version,
    a.region?.png ?? null,
    a.region?.width ?? null,
    a.region?.height ?? null,
    a.at,
    a.at,
  ];
}

/** `WHERE ...` for a filter, with `?` or `$n` placeholders, and its parameters. */
export function annotationWhere(filter: AnnotationFilter, placeholder: (n: number) => string): { readonly sql: string; readonly params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  for (const [column, value] of [
    ['report_id', filter.reportId],
    ['image', filter.image],
    ['pattern', filter.pattern],
  ] as const) {
    if (value !== undefined) {
      params.push(value);
      parts.push(`${column} = ${placeholder(params.length)}`);
    }
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function optional(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function toStoredAnnotation(r: Record<string, unknown>): StoredAnnotation {
  const value = ANNOTATION_VALUES.find((v) => v === r.value);
  if (!value) {
    throw new Error(`annotation ${String(r.id)} has an unknown value ${String(r.value)}`);
  }
  const name = optional(r.annotator_name);
  const referral = optional(r.referral);
  const patient = optional(r.patient);
  const png = optional(r.region_png);
  return {
    id: String(r.id),
    reportId: String(r.report_id),
    image: String(r.image),
    pattern: String(r.pattern),
    value,
    annotator: { issuer: String(r.annotator_issuer), id: String(r.annotator_id), ...(name !== undefined ? { name } : {}) },
    ...(referral !== undefined ? { referral } : {}),
    ...(patient !== undefined ? { patient } : {}),
    model: { name: String(r.model_name), version: String(r.model_version) },
    ...(png !== undefined ? { region: { png, width: Number(r.region_width), height: Number(r.region_height) } } : {}),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}
