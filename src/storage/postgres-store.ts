import pg from 'pg';
import type { FeedbackOutcome } from '../feedback/feedback-store.ts';
import { CARD_COLUMNS, FEEDBACK_WITH_CARD, cardParams, feedbackParams, toIssued, toStored } from './rows.ts';
import { ANNOTATION_INSERT_COLUMNS, ANNOTATION_ON_CONFLICT, annotationParams, annotationWhere, toStoredAnnotation } from './annotation-rows.ts';
import type { QueueEntry, StoredReport } from '../viewer/report-store.ts';
import { AUDIT_FROM_VERSION, VERSION_COLUMNS, auditParams, toAuditEntry, toLiveVersion, toVersionRecord, versionParams } from './registry-rows.ts';
import { SWEEP_INTERVAL_MS, readMigrations } from './migrations.ts';
import type { SharedStore } from './shared-store.ts';

/** Any constant: replicas starting together take this lock, so one applies the migrations and the others wait. */
const MIGRATION_LOCK = 0x0bcc_cd5;
/** Taken by every change of the model registry, so two replicas installing or two admins promoting take turns. */
const REGISTRY_LOCK = 0x0bcc_cd6;

export interface PostgresStoreOptions {
  /** Connections per replica. Default 10: more than the hooks that run at once. */
  readonly maxConnections?: number;
  /** A connection or statement slower than this fails (a request fails, the replica does not hang). */
  readonly timeoutMs?: number;
  /** Pool errors on idle connections (the server restarted); the next query reconnects. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * The store shared by replicas: PostgreSQL through node-postgres. Each write is one statement or
 * one transaction, so a replica killed mid-request leaves either the whole write or none of it.
 */
export async function openPostgresStore(connectionString: string, opts: PostgresStoreOptions = {}): Promise<SharedStore> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }

  async function transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const out = await work(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  let sweptAt = 0;
  const maybeSweep = async (nowMs: number): Promise<void> => {
    if (nowMs - sweptAt >= SWEEP_INTERVAL_MS) {
      sweptAt = nowMs;
      await pool.query('DELETE FROM jwt_replay WHERE expires_at <= $1', [nowMs]);
      await pool.query('DELETE FROM rate_window WHERE expires_at <= $1', [nowMs]);
    }
  };

  return {
    kind: 'postgres',
    async recordCards(cards) {
      if (cards.length === 0) {
        return;
      }
      await transaction(async (c) => {
        for (const card of cards) {
          await c.query(
            `INSERT INTO issued_card VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (uuid) DO UPDATE SET service_id = EXCLUDED.service_id, hook_instance = EXCLUDED.hook_instance, referral = EXCLUDED.referral,
               category = EXCLUDED.category, bcc_probability = EXCLUDED.bcc_probability, model_version = EXCLUDED.model_version, issued_at = EXCLUDED.issued_at`,
            cardParams(card),
          );
        }
      });
    },
    async recordFeedback(items, receivedAt) {
      await transaction(async (c) => {
        for (const f of items) {
          await c.query(
            `INSERT INTO feedback (service_id, card, outcome, accepted_suggestions, override_code, override_system, override_comment, outcome_timestamp, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
            feedbackParams(f, receivedAt),
          );
        }
      });
      return items.length;
    },
    async listFeedback(limit = 100) {
      const r = await pool.query(`SELECT ${FEEDBACK_WITH_CARD} FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id DESC LIMIT $1`, [limit]);
      return (r.rows as Record<string, unknown>[]).map((row) => toStored(row));
    },
    async cardModelVersions(cards) {
      const r = await pool.query(`SELECT uuid, model_version FROM issued_card WHERE uuid = ANY($1::text[])`, [cards]);
      return new Map((r.rows as { uuid: string; model_version: string }[]).map((row) => [row.uuid, row.model_version]));
    },
    async countByOutcome() {
      const out: Record<FeedbackOutcome, number> = { accepted: 0, overridden: 0 };
      const r = await pool.query(`SELECT outcome, COUNT(*) AS n FROM feedback GROUP BY outcome`);
      for (const row of r.rows as { outcome: FeedbackOutcome; n: string }[]) {
        out[row.outcome] = Number(row.n);
      }
      return out;
    },
    async listCardOutcomes() {
      // One snapshot, so a card answered between the two reads is not listed twice or not at all.
      return transaction(async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        const feedback = await c.query(`SELECT ${FEEDBACK_WITH_CARD} FROM feedback f LEFT JOIN issued_card c ON c.uuid = f.card ORDER BY f.id ASC`);
        const unanswered = await c.query(
          `SELECT ${CARD_COLUMNS} FROM issued_card c WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.card = c.uuid) ORDER BY c.issued_at, c.uuid`,
        );
        return {
          feedback: (feedback.rows as Record<string, unknown>[]).map((r) => toStored(r)),
          unanswered: (unanswered.rows as Record<string, unknown>[]).flatMap((r) => toIssued(r) ?? []),
        };
      });
    },
    async rememberJti(iss, jti, expiresAtMs, nowMs) {
      await maybeSweep(nowMs);
      // ON CONFLICT serialises concurrent inserts of one key: exactly one replica gets the row back.
      const r = await pool.query(
        `INSERT INTO jwt_replay (iss, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (iss, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE jwt_replay.expires_at <= $4 RETURNING 1 AS fresh`,
        [iss, jti, expiresAtMs, nowMs],
      );
      return r.rowCount === 1;
    },
    async putReport(report, capacity) {
      await transaction(async (c) => {
        await c.query(`DELETE FROM triage_report WHERE report_id = $1`, [report.reportId]);
        await c.query(`INSERT INTO triage_report (report_id, referral, entry, viewer) VALUES ($1, $2, $3, $4)`, [
          report.reportId,
          report.referral,
          JSON.stringify(report.entry),
          JSON.stringify(report.viewer),
        ]);
        await c.query(`DELETE FROM triage_report WHERE seq <= (SELECT MAX(seq) FROM triage_report) - $1`, [capacity]);
      });
    },
    async tryGetReport(reportId) {
      const r = await pool.query(`SELECT report_id, referral, entry, viewer FROM triage_report WHERE report_id = $1`, [reportId]);
      const row = r.rows[0] as { report_id: string; referral: string; entry: string; viewer: string } | undefined;
      return row
        ? { reportId: row.report_id, referral: row.referral, entry: JSON.parse(row.entry) as QueueEntry, viewer: JSON.parse(row.viewer) as StoredReport['viewer'] }
        : undefined;
    },
    async latestReportPerReferral() {
      const r = await pool.query(`SELECT entry FROM triage_report t WHERE seq = (SELECT MAX(seq) FROM triage_report u WHERE u.referral = t.referral)`);
      return (r.rows as { entry: string }[]).map((row) => JSON.parse(row.entry) as QueueEntry);
    },
    async countHit(key, windowStartMs, expiresAtMs) {
      await maybeSweep(windowStartMs);
      const r = await pool.query(
        `INSERT INTO rate_window (key, window_start, hits, expires_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_window.hits + 1 RETURNING hits`,
        [key, windowStartMs, expiresAtMs],
      );
      return Number((r.rows[0] as { hits: number | string }).hits);
    },
    async putAnnotation(record) {
      const params = annotationParams(record);
      const r = await pool.query(
        `INSERT INTO annotation (${ANNOTATION_INSERT_COLUMNS}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')}) ${ANNOTATION_ON_CONFLICT}`,
        params,
      );
      const annotation = toStoredAnnotation(r.rows[0] as Record<string, unknown>);
      // A replacement keeps the id of the row it replaced.
      return { annotation, replaced: annotation.id !== record.id };
    },
    async listAnnotations(filter = {}) {
      const where = annotationWhere(filter, (n) => `$${n}`);
      const r = await pool.query(`SELECT * FROM annotation ${where.sql} ORDER BY seq`, where.params);
      return (r.rows as Record<string, unknown>[]).map((row) => toStoredAnnotation(row));
    },
    async registerVersion(record, audit) {
      return transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
        const added = await c.query(`INSERT INTO model_version (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING`, versionParams(record));
        if (added.rowCount !== 1) {
          return false;
        }
        const from = audit.live ? await liveNow(c) : null;
        if (audit.live) {
          await putLive(c, record.version, audit.at, from);
        }
        await c.query(AUDIT_FROM_VERSION((n) => `$${n}`), auditParams(audit.action, record.version, from, audit));
        return true;
      });
    },
    async getVersion(version) {
      const r = await pool.query(`SELECT ${VERSION_COLUMNS} FROM model_version WHERE version = $1`, [version]);
      const row = r.rows[0] as Record<string, unknown> | undefined;
      return row ? toVersionRecord(row) : undefined;
    },
    async listVersions() {
      const r = await pool.query(`SELECT ${VERSION_COLUMNS} FROM model_version ORDER BY seq`);
      return (r.rows as Record<string, unknown>[]).map((row) => toVersionRecord(row));
    },
    async liveVersion() {
      const r = await pool.query(`SELECT version, since, previous FROM model_live WHERE id = 1`);
      return toLiveVersion(r.rows[0] as Record<string, unknown> | undefined);
    },
    async setLiveVersion(version, audit) {
      return transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
        const from = await liveNow(c);
        if (from === version) {
          return { changed: false, from };
        }
        const r = await c.query(AUDIT_FROM_VERSION((n) => `$${n}`), auditParams(audit.action, version, from, audit));
        if (r.rowCount !== 1) {
          throw new Error(`model version ${version} is not registered`);
        }
        await putLive(c, version, audit.at, from);
        return { changed: true, from };
      });
    },
    async listAudit() {
      const r = await pool.query(`SELECT * FROM model_audit ORDER BY id DESC`);
      return (r.rows as Record<string, unknown>[]).map((row) => toAuditEntry(row));
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}

async function liveNow(c: pg.PoolClient): Promise<string | null> {
  const r = await c.query(`SELECT version FROM model_live WHERE id = 1`);
  return (r.rows[0] as { version: string } | undefined)?.version ?? null;
}

async function putLive(c: pg.PoolClient, version: string, at: string, previous: string | null): Promise<void> {
  await c.query(
    `INSERT INTO model_live (id, version, since, previous) VALUES (1, $1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, since = EXCLUDED.since, previous = EXCLUDED.previous`,
    [version, at, previous],
  );
}

async function migrate(pool: pg.Pool): Promise<void> {
  const migrations = await readMigrations('postgres');
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migration (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const applied = new Set((await c.query('SELECT version FROM schema_migration')).rows.map((r: { version: string }) => r.version));
    for (const m of migrations.filter((x) => !applied.has(x.version))) {
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migration (version) VALUES ($1)', [m.version]);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
