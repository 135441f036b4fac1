import type { AnnotationStore } from '../annotation/annotation-store.ts';
import type { JtiLedger } from '../cds/auth/replay-cache.ts';
import type { HitCounter } from '../cds/rate-limit.ts';
import type { FeedbackStore } from '../feedback/feedback-store.ts';
import type { ModelRegistryStore } from '../registry/model-registry-store.ts';
import type { ReportRecords } from '../viewer/report-store.ts';

/**
 * Everything a request may need that another replica wrote: card feedback, the client JWT `jti`
 * replay cache, stored results behind viewer links, rate-limit counters, dermatologists' pattern
 * annotations and the model registry (registered versions, the live one, the audit). Two
 * implementations, one contract (test/storage): embedded SQLite for a single process (src/storage/sqlite-store.ts) and PostgreSQL for replicas
 * (src/storage/postgres-store.ts). Times are epoch milliseconds.
 */
export interface SharedStore extends FeedbackStore, ReportRecords, JtiLedger, HitCounter, AnnotationStore, ModelRegistryStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Throws when the store cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
