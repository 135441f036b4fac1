/**
 * The annotation sheet `npm run learn` reads: a CSV file, or the service's store exported exactly as
 * GET /annotations/export.csv exports it (formatConsensusCsv), so `--from-store` is "export, then
 * learn from the export". The store export's image key is the report's `Media/<id>`.
 */
import { readFile } from 'node:fs/promises';
import { formatConsensusCsv } from '../../annotation/annotation-csv.ts';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { openExistingStore } from '../../storage/open-store.ts';
import type { AnnotationSource } from './learn-options.ts';

export interface AnnotationSheetText {
  readonly text: string;
  /** Named in messages and the report: the CSV path, or the store. */
  readonly source: string;
}

export async function readAnnotationSheet(from: AnnotationSource): Promise<AnnotationSheetText> {
  if (from.kind === 'csv') {
    try {
      return { text: await readFile(from.path, 'utf8'), source: from.path };
    } catch (err) {
      throw new OperationOutcomeError(badRequest(`cannot read annotations: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, from.path), err);
    }
  }
  const store = await openExistingStore({ databaseUrl: from.databaseUrl, feedbackDbPath: from.db }, 'annotation store');
  try {
    const text = formatConsensusCsv(await store.listAnnotations());
    return { text, source: from.databaseUrl ? 'the PostgreSQL store (DATABASE_URL)' : from.db };
  } finally {
    await store.close();
  }
}
