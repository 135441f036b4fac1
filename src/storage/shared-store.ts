import { readdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CardOutcomes, FeedbackOutcome, FeedbackRecord, IssuedCard, StoredFeedback } from '../feedback/feedback-store.ts';
import type { QueueEntry } from '../viewer/report-store.ts';
import type { ViewerModel } from '../viewer/viewer-model.ts';

/** A hook's result as the viewer link shows it, and its row in the triage queue. */
export interface StoredReport {
  readonly reportId: string;
  /** The queue key (queueKey in src/viewer/report-store.ts): the queue shows the latest report per key. */
  readonly referral: string;
  readonly entry: QueueEntry;
  readonly viewer: ViewerModel;
}

/**
 * Everything a request may need that another replica wrote: card feedback, the client JWT `jti`
 * replay cache, stored results behind viewer links and rate-limit counters. Two implementations,
 * one contract (test/storage): embedded SQLite for a single process (src/storage/sqlite-store.ts)
 * and PostgreSQL for replicas (src/storage/postgres-store.ts). Times are epoch milliseconds.
 */
export interface SharedStore {
  readonly kind: 'sqlite' | 'postgres';

  /** Cards as issued (the same uuid again replaces the row). */
  recordCards(cards: readonly IssuedCard[]): Promise<void>;
  /** All items or none; resolves to how many were stored. */
  recordFeedback(items: readonly FeedbackRecord[], receivedAt: string): Promise<number>;
  /** Newest first. */
  listFeedback(limit?: number): Promise<StoredFeedback[]>;
  countByOutcome(): Promise<Record<FeedbackOutcome, number>>;
  /**
   * Everything for a review export: every feedback row (oldest first) joined with its issued card,
   * and the issued cards nobody has given feedback on yet.
   */
  listCardOutcomes(): Promise<CardOutcomes>;

  /**
   * True the first time (`iss`, `jti`) is seen while an earlier sighting is unexpired at `nowMs`;
   * false for a replay. Atomic across replicas: of two concurrent calls exactly one gets true.
   */
  rememberJti(iss: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean>;

  /** Keeps the report; beyond `capacity` reports the oldest go. */
  putReport(report: StoredReport, capacity: number): Promise<void>;
  /** `try*`: undefined when unknown or evicted. */
  tryGetReport(reportId: string): Promise<StoredReport | undefined>;
  /** The queue entry of the latest report per referral, in no particular order. */
  latestReportPerReferral(): Promise<QueueEntry[]>;

  /** Counts one request for `key` in the window starting at `windowStartMs`; resolves to the window's count so far. */
  countHit(key: string, windowStartMs: number, expiresAtMs: number): Promise<number>;

  /** Throws when the store cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

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

const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  /** The file name without `.sql` (`001_initial`); applied in this order, each once. */
  readonly version: string;
  readonly sql: string;
}

/** The migrations in the repo for one database, in order. */
export async function readMigrations(dialect: SharedStore['kind']): Promise<Migration[]> {
  const dir = resolve(MIGRATIONS_DIR, dialect);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => ({ version: f.slice(0, -4), sql: await readFile(resolve(dir, f), 'utf8') })));
}

/** How often a store deletes expired replay entries and rate windows (each replica on its own). */
export const SWEEP_INTERVAL_MS = 60_000;
