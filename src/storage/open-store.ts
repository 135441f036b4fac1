import { access } from 'node:fs/promises';
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import type { SharedStore } from './shared-store.ts';

export interface StoreLocation {
  /** `postgres://...`: the shared store for replicas. Absent: SQLite at `feedbackDbPath`. */
  readonly databaseUrl?: string | undefined;
  readonly feedbackDbPath: string;
}

/** The configured store: PostgreSQL when a database URL is set, else the embedded SQLite file. */
export async function openSharedStore(where: StoreLocation, opts: { readonly onIdleError?: (err: Error) => void } = {}): Promise<SharedStore> {
  if (where.databaseUrl) {
    const { openPostgresStore } = await import('./postgres-store.ts');
    return openPostgresStore(where.databaseUrl, opts);
  }
  const { openSqliteStore } = await import('./sqlite-store.ts');
  return openSqliteStore(where.feedbackDbPath);
}

/**
 * A store that must already exist, for the tools that read it (feedback export, learning from the
 * annotations): opening a missing SQLite path would create an empty store and read nothing, silently.
 */
export async function openExistingStore(where: StoreLocation, what: string): Promise<SharedStore> {
  if (!where.databaseUrl) {
    try {
      await access(where.feedbackDbPath);
    } catch (err) {
      throw new OperationOutcomeError(badRequest(`no ${what} at ${where.feedbackDbPath}`, '--db'), err);
    }
  }
  return openSharedStore(where);
}
