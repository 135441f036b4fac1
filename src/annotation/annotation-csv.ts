import type { AnnotationValue, StoredAnnotation } from './annotation-store.ts';

/** The columns `npm run consensus` reads (src/tools/consensus/annotations.ts), in its order. */
export const CONSENSUS_COLUMNS = ['image', 'annotator', 'label', 'value'] as const;

/**
 * The consensus sheet's `value`: 1 present, 0 absent, empty for cannot tell. parseAnnotations reads
 * an empty value as "looked at, no opinion": no vote, but the image and annotator still count.
 */
export const CONSENSUS_VALUE: Readonly<Record<AnnotationValue, '1' | '0' | ''>> = { present: '1', absent: '0', 'cannot-tell': '' };

/**
 * Annotations as the consensus sheet, one row each: image,annotator,label,value (LF, RFC 4180
 * quoting). The annotator column is the annotator's id; an id used by two issuers is written
 * `id (issuer)` for both, so two people never merge into one rater.
 */
export function formatConsensusCsv(annotations: readonly StoredAnnotation[]): string {
  const issuersById = new Map<string, Set<string>>();
  for (const a of annotations) {
    issuersById.set(a.annotator.id, (issuersById.get(a.annotator.id) ?? new Set()).add(a.annotator.issuer));
  }
  const rater = (a: StoredAnnotation): string => ((issuersById.get(a.annotator.id)?.size ?? 0) > 1 ? `${a.annotator.id} (${a.annotator.issuer})` : a.annotator.id);
  const rows = [CONSENSUS_COLUMNS, ...annotations.map((a) => [a.image, rater(a), a.pattern, CONSENSUS_VALUE[a.value]])];
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** RFC 4180: quoted only when it holds a comma, a quote or a line break (as parseCsv reads it). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
