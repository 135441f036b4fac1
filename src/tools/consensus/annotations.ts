/**
 * The annotation sheet a hospital's dermatologists fill in: long format, one vote per row,
 *   image,annotator,label,value
 * label = `bcc` or a pattern id of the model manifest; value = 1 (present), 0 (absent) or empty
 * (looked at, no opinion: no vote). Other columns are ignored, and a row whose four cells are all
 * empty is skipped, so a filled-in `npm run feedback-export` sheet is an annotation sheet as it is.
 * Pure parsing and validation; the CLI reads the file.
 *
 * Duplicates: the same annotator, image and label twice with the same value is one vote (sheets
 * get concatenated); with different values it is an error, not "last wins": which row is last
 * depends on how the sheet was sorted or merged, and a silent choice would flip a consensus
 * without anyone noticing. The annotator fixes the row the message names. An empty row beside a
 * 0/1 row is no conflict (empty is no vote).
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { parseCsv } from '../evaluation/labels.ts';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import type { BinaryVote } from './vote-matrix.ts';

export const ANNOTATION_COLUMNS = ['image', 'annotator', 'label', 'value'] as const;

export interface AnnotationVote {
  readonly image: string;
  readonly annotator: string;
  readonly label: string;
  readonly value: BinaryVote;
  /** 1-based record number in the file, for messages. */
  readonly line: number;
}

export interface AnnotationSheet {
  /** Every image named in the sheet, first-seen order (also those with only empty values). */
  readonly images: readonly string[];
  readonly annotators: readonly string[];
  /** One vote per annotator, image and label; empty values dropped. */
  readonly votes: readonly AnnotationVote[];
  /** Identical duplicate rows collapsed into one vote. */
  readonly duplicates: number;
}

/** Issues beyond this many are summarised: a sheet with a systematic error would otherwise print thousands. */
const MAX_ISSUES = 20;

function toIssue(text: string, expression: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'invalid', details: { text }, expression: [expression] };
}

/**
 * Parses and validates the sheet; collects every problem (up to MAX_ISSUES) into one
 * OperationOutcome, so a person fixes the sheet in one pass.
 */
export function parseAnnotations(text: string, labels: readonly string[], source = 'annotations.csv'): AnnotationSheet {
  const [header, ...records] = parseCsv(text);
  const columns = (header ?? []).map((h) => h.trim());
  const missing = ANNOTATION_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) {
    throw new OperationOutcomeError(badRequest(`missing column(s) ${missing.join(', ')}; expected ${ANNOTATION_COLUMNS.join(',')}`, `${source} header`));
  }
  const at = Object.fromEntries(ANNOTATION_COLUMNS.map((c) => [c, columns.indexOf(c)])) as Record<(typeof ANNOTATION_COLUMNS)[number], number>;
  const known = new Set(labels);
  const issues: OperationOutcomeIssue[] = [];
  const images = new Map<string, true>();
  const annotators = new Map<string, true>();
  const seen = new Map<string, AnnotationVote>();
  let duplicates = 0;
  records.forEach((cells, r) => {
    const line = r + 2;
    const cell = (i: number): string => (cells[i] ?? '').trim();
    const [image, annotator, label, value] = [cell(at.image), cell(at.annotator), cell(at.label), cell(at.value)];
    // No annotation cell filled in: not an annotation (a blank line, or a feedback-export row nobody reviewed yet).
    if (image === '' && annotator === '' && label === '' && value === '') {
      return;
    }
    const where = `${source} line ${line}`;
    for (const [name, v] of [['image', image], ['annotator', annotator], ['label', label]] as const) {
      if (v === '') {
        issues.push(toIssue(`${name} is empty`, `${where} column ${name}`));
      }
    }
    if (label !== '' && !known.has(label)) {
      issues.push(toIssue(`unknown label "${label}"; expected one of ${labels.join(', ')}`, `${where} column label`));
    }
    if (value !== '' && value !== '0' && value !== '1') {
      issues.push(toIssue(`value must be 1, 0 or empty, got "${value}"`, `${where} column value`));
    }
    if (image === '' || annotator === '' || !known.has(label)) {
      return;
    }
    images.set(image, true);
    annotators.set(annotator, true);
    if (value !== '0' && value !== '1') {
      return;
    }
    const vote: AnnotationVote = { image, annotator, label, value: value === '1' ? 1 : 0, line };
    const key = JSON.stringify([image, annotator, label]);
    const before = seen.get(key);
    if (!before) {
      seen.set(key, vote);
    } else if (before.value === vote.value) {
      duplicates++;
    } else {
      issues.push(
        toIssue(
          `conflicting votes by annotator "${annotator}" on image "${image}", label ${label}: ${before.value} on line ${before.line}, ${vote.value} here; keep one`,
          `${where} column value`,
        ),
      );
    }
  });
  if (issues.length) {
    const shown = issues.slice(0, MAX_ISSUES);
    if (issues.length > MAX_ISSUES) {
      shown.push(toIssue(`and ${issues.length - MAX_ISSUES} more problem(s)`, source));
    }
    const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: shown };
    throw new OperationOutcomeError(outcome);
  }
  return { images: [...images.keys()], annotators: [...annotators.keys()], votes: [...seen.values()], duplicates };
}
