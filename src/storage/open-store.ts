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
