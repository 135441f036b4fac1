import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** CDS Hooks 2.0 feedback outcomes (https://cds-hooks.hl7.org/2.0/#feedback). */
export const FEEDBACK_OUTCOMES = ['accepted', 'overridden'] as const;
export type FeedbackOutcome = (typeof FEEDBACK_OUTCOMES)[number];

export interface IssuedCard {
  readonly uuid: string;
  readonly serviceId: string;
  readonly hookInstance: string;
  readonly referral: string;
  readonly category: string;
  readonly bccProbability: number | null;
  readonly modelVersion: string;
  readonly issuedAt: string;
}

export interface FeedbackRecord {
  readonly serviceId: string;
  readonly card: string;
  readonly outcome: FeedbackOutcome;
  readonly acceptedSuggestions: readonly string[];
  readonly overrideReasonCode?: string;
  readonly overrideReasonSystem?: string;
  readonly overrideComment?: string;
  readonly outcomeTimestamp: string;
}

export interface StoredFeedback extends FeedbackRecord {
  readonly id: number;
  readonly receivedAt: string;
  /** The card as issued, when this service issued it. */
  readonly issued?: IssuedCard;
}

export interface FeedbackStore {
  recordCards(cards: readonly IssuedCard[]): void;
  recordFeedback(items: readonly FeedbackRecord[], receivedAt: string): number;
  listFeedback(limit?: number): StoredFeedback[];
  countByOutcome(): Record<FeedbackOutcome, number>;
  /**
   * Everything for a review export: every feedback row (oldest first) joined with its issued card,
   * and the issued cards nobody has given feedback on yet.
   */
  listCardOutcomes(): CardOutcomes;
  close(): void;
}

export interface CardOutcomes {
  readonly feedback: readonly StoredFeedback[];
  readonly unanswered: readonly IssuedCard[];
}

/**
 * Durable store for issued cards and clinicians' feedback: embedded SQLite (WAL) so accepted and
 * overridden cards survive restarts and the ML team can join them to model versions.
 */
export function openFeedbackStore(path: string): FeedbackStore {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS issued_card (
      uuid TEXT PRIMARY KEY, service_id TEXT NOT NULL, hook_instance TEXT NOT NULL, referral TEXT NOT NULL,
      category TEXT NOT NULL, bcc_probability REAL, model_version TEXT NOT NULL, issued_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS feedback (
      id INTEGER PRIMARY KEY AUTOINCREMENT, service_id TEXT NOT NULL, card TEXT NOT NULL, outcome TEXT NOT NULL,
      accepted_suggestions TEXT NOT NULL, override_code TEXT, override_system TEXT, override_comment TEXT,
      outcome_timestamp TEXT NOT NULL, received_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS feedback_card ON feedback(card);
  `);
  const insertCard = db.prepare(
    `INSERT OR REPLACE INTO issued_card VALUES (@uuid, @serviceId, @hookInstance, @referral, @category, @bccProbability, @modelVersion, @issuedAt)`,
  );
  const insertFeedback = db.prepare(
    `INSERT INTO feedback (service_id, card, outcome, accepted_suggestions, override_code, override_system, override_comment, outcome_timestamp, received_at)
     VALUES (@serviceId, @card, @outcome, @acceptedSuggestions, @overrideReasonCode, @overrideReasonSystem, @overrideComment, @outcomeTimestamp, @receivedAt)`,
  );
  const recordCards = db.transaction((cards: readonly IssuedCard[]) => {
    for (const c of cards) {
      insertCard.run(c);
    }
  });
  const recordFeedback = db.transaction((items: readonly FeedbackRecord[], receivedAt: string) => {
    for (const f of items) {
      insertFeedback.run({
        serviceId: f.serviceId,
        card: f.card,
        outcome: f.outcome,
        acceptedSuggestions: JSON.stringify(f.acceptedSuggestions),
        overrideReasonCode: f.overrideReasonCode ?? null,
        overrideReasonSystem: f.overrideReasonSystem ?? null,
        overrideComment: f.overrideComment ?? null,
        outcomeTimestamp: f.outcomeTimestamp,
        receivedAt,
      });
    }
    return items.length;
  });
  const list = db.prepare(
    `SELECT f.*, c.uuid AS c_uuid, c.service_id AS c_service, c.hook_instance, c.referral, c.category, c.bcc_probability, c.model_version, c.issued_at
     FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id DESC LIMIT ?`,
  );
  const counts = db.prepare(`SELECT outcome, COUNT(*) AS n FROM feedback GROUP BY outcome`);
  const allFeedback = db.prepare(
    `SELECT f.*, c.uuid AS c_uuid, c.service_id AS c_service, c.hook_instance, c.referral, c.category, c.bcc_probability, c.model_version, c.issued_at
     FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id ASC`,
  );
  const unanswered = db.prepare(
    `SELECT c.uuid AS c_uuid, c.service_id AS c_service, c.hook_instance, c.referral, c.category, c.bcc_probability, c.model_version, c.issued_at
     FROM issued_card c WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.card = c.uuid) ORDER BY c.issued_at, c.uuid`,
  );
  return {
    recordCards: (cards) => recordCards(cards),
    recordFeedback: (items, receivedAt) => recordFeedback(items, receivedAt),
    listFeedback(limit = 100) {
      return (list.all(limit) as Record<string, unknown>[]).map((r) => toStored(r));
    },
    countByOutcome() {
      const out: Record<FeedbackOutcome, number> = { accepted: 0, overridden: 0 };
      for (const r of counts.all() as { outcome: FeedbackOutcome; n: number }[]) {
        out[r.outcome] = r.n;
      }
      return out;
    },
    listCardOutcomes() {
      return {
        feedback: (allFeedback.all() as Record<string, unknown>[]).map((r) => toStored(r)),
        unanswered: (unanswered.all() as Record<string, unknown>[]).flatMap((r) => toIssued(r) ?? []),
      };
    },
    close: () => db.close(),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The issued card of a joined row (columns c_uuid, c_service, ...), when there is one. */
function toIssued(r: Record<string, unknown>): IssuedCard | undefined {
  return str(r['c_uuid'])
    ? {
        uuid: String(r['c_uuid']),
        serviceId: String(r['c_service']),
        hookInstance: String(r['hook_instance']),
        referral: String(r['referral']),
        category: String(r['category']),
        bccProbability: typeof r['bcc_probability'] === 'number' ? r['bcc_probability'] : null,
        modelVersion: String(r['model_version']),
        issuedAt: String(r['issued_at']),
      }
    : undefined;
}

function toStored(r: Record<string, unknown>): StoredFeedback {
  const issued = toIssued(r);
  const acceptedSuggestions: unknown = JSON.parse(String(r['accepted_suggestions'] ?? '[]'));
  return {
    id: Number(r['id']),
    serviceId: String(r['service_id']),
    card: String(r['card']),
    outcome: r['outcome'] === 'overridden' ? 'overridden' : 'accepted',
    acceptedSuggestions: Array.isArray(acceptedSuggestions) ? acceptedSuggestions.map(String) : [],
    ...(str(r['override_code']) ? { overrideReasonCode: str(r['override_code']) } : {}),
    ...(str(r['override_system']) ? { overrideReasonSystem: str(r['override_system']) } : {}),
    ...(str(r['override_comment']) ? { overrideComment: str(r['override_comment']) } : {}),
    outcomeTimestamp: String(r['outcome_timestamp']),
    receivedAt: String(r['received_at']),
    ...(issued ? { issued } : {}),
  };
}
