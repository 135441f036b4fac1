import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { FeedbackOutcome, FeedbackRecord, IssuedCard } from '../feedback/feedback-store.ts';
import { CARD_COLUMNS, FEEDBACK_WITH_CARD, cardParams, feedbackParams, toIssued, toStored } from './rows.ts';
import { ANNOTATION_INSERT_COLUMNS, ANNOTATION_ON_CONFLICT, annotationParams, annotationWhere, toStoredAnnotation } from './annotation-rows.ts';
import type { QueueEntry, StoredReport } from '../viewer/report-store.ts';
import type { ModelVersionRecord } from '../registry/model-registry-store.ts';
import { AUDIT_FROM_VERSION, VERSION_COLUMNS, auditParams, toAuditEntry, toLiveVersion, toVersionRecord, versionParams } from './registry-rows.ts';
import { SWEEP_INTERVAL_MS, readMigrations } from './migrations.ts';
import type { SharedStore } from './shared-store.ts';

/**
 * The single-process store: embedded SQLite (WAL). Calls are synchronous underneath; the contract
 * is async so the PostgreSQL store can stand in for it.
 */
export async function openSqliteStore(path: string): Promise<SharedStore> {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
  }
  const migrations = await readMigrations('sqlite');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Two processes on one file (a CLI beside the service) wait for each other instead of failing.
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migration (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  db.transaction(() => {
    const applied = new Set((db.prepare('SELECT version FROM schema_migration').all() as { version: string }[]).map((r) => r.version));
    for (const m of migrations.filter((x) => !applied.has(x.version))) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migration VALUES (?, ?)').run(m.version, new Date().toISOString());
    }
  }).immediate();

  const insertCard = db.prepare(`INSERT OR REPLACE INTO issued_card VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertFeedback = db.prepare(
    `INSERT INTO feedback (service_id, card, outcome, accepted_suggestions, override_code, override_system, override_comment, outcome_timestamp, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const recordCards = db.transaction((cards: readonly IssuedCard[]) => {
    for (const c of cards) {
      insertCard.run(cardParams(c));
    }
  });
  const recordFeedback = db.transaction((items: readonly FeedbackRecord[], receivedAt: string) => {
    for (const f of items) {
      insertFeedback.run(feedbackParams(f, receivedAt));
    }
    return items.length;
  });
  const list = db.prepare(`SELECT ${FEEDBACK_WITH_CARD} FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id DESC LIMIT ?`);
  const counts = db.prepare(`SELECT outcome, COUNT(*) AS n FROM feedback GROUP BY outcome`);
  const cardVersion = db.prepare(`SELECT model_version FROM issued_card WHERE uuid = ?`);
  const allFeedback = db.prepare(`SELECT ${FEEDBACK_WITH_CARD} FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id ASC`);
  const unanswered = db.prepare(
    `SELECT ${CARD_COLUMNS} FROM issued_card c WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.card = c.uuid) ORDER BY c.issued_at, c.uuid`,
  );
  // A replay finds an unexpired row: the conditional update does nothing and RETURNING gives no row.
  const remember = db.prepare(
    `INSERT INTO jwt_replay (iss, jti, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (iss, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE jwt_replay.expires_at <= ? RETURNING 1 AS fresh`,
  );
  const insertReport = db.prepare(`INSERT OR REPLACE INTO triage_report (report_id, referral, entry, viewer) VALUES (?, ?, ?, ?)`);
  const evictReports = db.prepare(`DELETE FROM triage_report WHERE seq <= (SELECT MAX(seq) FROM triage_report) - ?`);
  const putReport = db.transaction((r: StoredReport, capacity: number) => {
    insertReport.run(r.reportId, r.referral, JSON.stringify(r.entry), JSON.stringify(r.viewer));
    evictReports.run(capacity);
  });
  const getReport = db.prepare(`SELECT report_id, referral, entry, viewer FROM triage_report WHERE report_id = ?`);
  const latest = db.prepare(`SELECT entry FROM triage_report t WHERE seq = (SELECT MAX(seq) FROM triage_report u WHERE u.referral = t.referral)`);
  const hit = db.prepare(
    `INSERT INTO rate_window (key, window_start, hits, expires_at) VALUES (?, ?, 1, ?)
     ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_window.hits + 1 RETURNING hits`,
  );
  const putAnnotation = db.prepare(`INSERT INTO annotation (${ANNOTATION_INSERT_COLUMNS}) VALUES (${Array(17).fill('?').join(', ')}) ${ANNOTATION_ON_CONFLICT}`);
  const insertVersion = db.prepare(
    `INSERT INTO model_version (${VERSION_COLUMNS}, seq) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_version)) ON CONFLICT (version) DO NOTHING`,
  );
  const insertAudit = db.prepare(AUDIT_FROM_VERSION(() => '?'));
  const getLive = db.prepare(`SELECT version, since, previous FROM model_live WHERE id = 1`);
  const putLive = db.prepare(
    `INSERT INTO model_live (id, version, since, previous) VALUES (1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, since = excluded.since, previous = excluded.previous`,
  );
  const liveNow = (): string | null => (getLive.get() as { version: string } | undefined)?.version ?? null;
  type RegisterAudit = Parameters<SharedStore['registerVersion']>[1];
  type LiveAudit = Parameters<SharedStore['setLiveVersion']>[1];
  const registerVersion = db.transaction((r: ModelVersionRecord, a: RegisterAudit): boolean => {
    if (insertVersion.run(versionParams(r)).changes === 0) {
      return false;
    }
    const from = a.live ? liveNow() : null;
    if (a.live) {
      putLive.run(r.version, a.at, from);
    }
    insertAudit.run(auditParams(a.action, r.version, from, a));
    return true;
  });
  const setLive = db.transaction((version: string, a: LiveAudit): { changed: boolean; from: string | null } => {
    const from = liveNow();
    if (from === version) {
      return { changed: false, from };
    }
    if (insertAudit.run(auditParams(a.action, version, from, a)).changes === 0) {
      throw new Error(`model version ${version} is not registered`);
    }
    putLive.run(version, a.at, from);
    return { changed: true, from };
  });
  const sweepReplay = db.prepare(`DELETE FROM jwt_replay WHERE expires_at <= ?`);
  const sweepRate = db.prepare(`DELETE FROM rate_window WHERE expires_at <= ?`);
  let sweptAt = 0;
  const maybeSweep = (nowMs: number): void => {
    if (nowMs - sweptAt >= SWEEP_INTERVAL_MS) {
      sweptAt = nowMs;
      sweepReplay.run(nowMs);
      sweepRate.run(nowMs);
    }
  };

  return {
    kind: 'sqlite',
    async recordCards(cards) {
      recordCards(cards);
    },
    async recordFeedback(items, receivedAt) {
      return recordFeedback(items, receivedAt);
    },
    async listFeedback(limit = 100) {
      return (list.all(limit) as Record<string, unknown>[]).map((r) => toStored(r));
    },
    async cardModelVersions(cards) {
      const rows = cards.map((c) => cardVersion.get(c) as { model_version: string } | undefined);
      return new Map(cards.flatMap((c, i) => (rows[i] ? [[c, rows[i].model_version] as const] : [])));
    },
    async countByOutcome() {
      const out: Record<FeedbackOutcome, number> = { accepted: 0, overridden: 0 };
      for (const r of counts.all() as { outcome: FeedbackOutcome; n: number }[]) {
        out[r.outcome] = r.n;
      }
      return out;
    },
    async listCardOutcomes() {
      return {
        feedback: (allFeedback.all() as Record<string, unknown>[]).map((r) => toStored(r)),
        unanswered: (unanswered.all() as Record<string, unknown>[]).flatMap((r) => toIssued(r) ?? []),
      };
    },
    async rememberJti(iss, jti, expiresAtMs, nowMs) {
      maybeSweep(nowMs);
      return remember.get(iss, jti, expiresAtMs, nowMs) !== undefined;
    },
    async putReport(report, capacity) {
      putReport(report, capacity);
    },
    async tryGetReport(reportId) {
      const r = getReport.get(reportId) as { report_id: string; referral: string; entry: string; viewer: string } | undefined;
      return r ? { reportId: r.report_id, referral: r.referral, entry: JSON.parse(r.entry) as QueueEntry, viewer: JSON.parse(r.viewer) as StoredReport['viewer'] } : undefined;
    },
    async latestReportPerReferral() {
      return (latest.all() as { entry: string }[]).map((r) => JSON.parse(r.entry) as QueueEntry);
    },
    async countHit(key, windowStartMs, expiresAtMs) {
      maybeSweep(windowStartMs);
      return (hit.get(key, windowStartMs, expiresAtMs) as { hits: number }).hits;
    },
    async putAnnotation(record) {
      const annotation = toStoredAnnotation(putAnnotation.get(annotationParams(record)) as Record<string, unknown>);
      // A replacement keeps the id of the row it replaced.
      return { annotation, replaced: annotation.id !== record.id };
    },
    async listAnnotations(filter = {}) {
      const where = annotationWhere(filter, () => '?');
      return (db.prepare(`SELECT * FROM annotation ${where.sql} ORDER BY seq`).all(where.params) as Record<string, unknown>[]).map((r) => toStoredAnnotation(r));
    },
    async registerVersion(record, audit) {
      return registerVersion.immediate(record, audit);
    },
    async getVersion(version) {
      const r = db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_version WHERE version = ?`).get(version) as Record<string, unknown> | undefined;
      return r ? toVersionRecord(r) : undefined;
    },
    async listVersions() {
      return (db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_version ORDER BY seq`).all() as Record<string, unknown>[]).map((r) => toVersionRecord(r));
    },
    async liveVersion() {
      return toLiveVersion(getLive.get() as Record<string, unknown> | undefined);
    },
    async setLiveVersion(version, audit) {
      return setLive.immediate(version, audit);
    },
    async listAudit() {
      return (db.prepare(`SELECT * FROM model_audit ORDER BY id DESC`).all() as Record<string, unknown>[]).map((r) => toAuditEntry(r));
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      db.close();
    },
  };
}
