/**
 * The model registry's storage contract (src/registry/model-registry-store.ts), run against both
 * stores as test/storage/shared-store.test.ts does: registered versions, the live pointer and the
 * append-only audit. "Two replicas" are two handles on one file or database.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { ModelVersionRecord } from '../../src/registry/model-registry-store.ts';
import { openPostgresStore } from '../../src/storage/postgres-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { PostgresCluster } from '../support/postgres.ts';
import { startPostgres } from '../support/postgres.ts';

interface Backend {
  readonly name: string;
  fresh(): Promise<{ open: () => Promise<SharedStore>; tamper: (sql: string) => Promise<void> }>;
}

let cluster: PostgresCluster | undefined;
let tmp = '';
let n = 0;

const backends: Backend[] = [
  {
    name: 'SQLite',
    async fresh() {
      const path = join(tmp, `registry-${++n}.sqlite`);
      return {
        open: () => openSqliteStore(path),
        async tamper(sql) {
          const db = new Database(path);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async fresh() {
      if (!cluster) {
        throw new Error('PostgreSQL cluster not started');
      }
      const url = await cluster.createDatabase(`registry_${++n}`);
      return {
        open: () => openPostgresStore(url),
        async tamper(sql) {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            await c.query(sql);
          } finally {
            await c.end();
          }
        },
      };
    },
  },
];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bcc-registry-'));
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const NET = 'a'.repeat(64);
const version = (v: string, extra: Partial<ModelVersionRecord> = {}): ModelVersionRecord => ({
  version: v,
  manifest: { name: 'bcc-mtl-mnv2', version: v, patterns: [{ id: 'ulceration', weights: [0.5, -1] }] },
  acceptance: { decision: 'accepted', auc: 0.8 },
  acceptanceSha256: v.replace(/\D/g, '').padEnd(64, 'f'),
  networkSha256: NET,
  registeredAt: `2026-12-01T10:00:0${v.at(-1) ?? '0'}.000Z`,
  registeredBy: 'ml-team',
  ...extra,
});

for (const backend of backends) {
  describe(`model registry store: ${backend.name}`, () => {
    it('registers versions with their manifest and acceptance as given; a version once only', async () => {
      const db = await backend.fresh();
      const s = await db.open();
      try {
        assert.equal(await s.liveVersion(), undefined);
        assert.equal(await s.registerVersion(version('1.5.1', { acceptance: null, acceptanceSha256: null, registeredBy: 'system' }), { action: 'install', actor: 'system', at: '2026-12-01T10:00:00.000Z', live: true }), true);
        assert.equal(await s.registerVersion(version('1.6.1'), { action: 'register', actor: 'ml-team', at: '2026-12-01T10:00:01.000Z' }), true);
        assert.equal(await s.registerVersion(version('1.6.1', { registeredBy: 'someone-else' }), { action: 'register', actor: 'someone-else', at: '2026-12-01T10:00:02.000Z' }), false);
        assert.deepEqual(await s.getVersion('1.6.1'), version('1.6.1'));
        assert.equal(await s.getVersion('9.9.9'), undefined);
        assert.deepEqual((await s.listVersions()).map((v) => [v.version, v.registeredBy]), [['1.5.1', 'system'], ['1.6.1', 'ml-team']]);
        assert.deepEqual(await s.liveVersion(), { version: '1.5.1', since: '2026-12-01T10:00:00.000Z', previous: null }, 'install with live points at it');
        assert.equal((await s.listAudit()).length, 2, 'the refused duplicate wrote no audit entry');
      } finally {
        await s.close();
      }
    });

    it('promote and rollback move the live pointer with their audit entry; the previous version is kept for a rollback', async () => {
      const db = await backend.fresh();
      const a = await db.open();
      const b = await db.open();
      try {
        await a.registerVersion(version('1.5.1', { acceptance: null, acceptanceSha256: null }), { action: 'install', actor: 'system', at: '2026-12-01T10:00:00.000Z', live: true });
        await a.registerVersion(version('1.6.1'), { action: 'register', actor: 'ml-team', at: '2026-12-01T10:00:01.000Z' });
        assert.deepEqual(await a.setLiveVersion('1.6.1', { action: 'promote', actor: 'it-admin', at: '2026-12-01T11:00:00.000Z', reason: 'accepted by the board' }), { changed: true, from: '1.5.1' });
        assert.deepEqual(await b.liveVersion(), { version: '1.6.1', since: '2026-12-01T11:00:00.000Z', previous: '1.5.1' }, 'another replica reads the same pointer');
        assert.deepEqual(await b.setLiveVersion('1.6.1', { action: 'promote', actor: 'it-admin', at: '2026-12-01T11:00:01.000Z' }), { changed: false, from: '1.6.1' }, 'already live: nothing written');
        await assert.rejects(() => a.setLiveVersion('7.0.0', { action: 'promote', actor: 'it-admin', at: '2026-12-01T11:00:02.000Z' }), /not registered/);
        assert.equal((await a.liveVersion())?.version, '1.6.1', 'a refused change leaves the pointer');
        assert.deepEqual(await b.setLiveVersion('1.5.1', { action: 'rollback', actor: 'it-admin', at: '2026-12-01T12:00:00.000Z' }), { changed: true, from: '1.6.1' });
        assert.deepEqual(await a.liveVersion(), { version: '1.5.1', since: '2026-12-01T12:00:00.000Z', previous: '1.6.1' });

        const audit = await a.listAudit();
        assert.deepEqual(
          audit.map((e) => [e.action, e.version, e.fromVersion, e.actor, e.at, e.acceptanceSha256, e.reason]),
          [
            ['rollback', '1.5.1', '1.6.1', 'it-admin', '2026-12-01T12:00:00.000Z', null, null],
            ['promote', '1.6.1', '1.5.1', 'it-admin', '2026-12-01T11:00:00.000Z', version('1.6.1').acceptanceSha256, 'accepted by the board'],
            ['register', '1.6.1', null, 'ml-team', '2026-12-01T10:00:01.000Z', version('1.6.1').acceptanceSha256, null],
            ['install', '1.5.1', null, 'system', '2026-12-01T10:00:00.000Z', null, null],
          ],
          'newest first; each entry carries the acceptance digest of its version',
        );
        assert.ok(audit.every((e, i) => i === 0 || e.id < (audit[i - 1]?.id ?? 0)), 'ids increase with time');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('keeps the audit append-only, and everything across a reopen', async () => {
      const db = await backend.fresh();
      const a = await db.open();
      await a.registerVersion(version('1.5.1'), { action: 'install', actor: 'system', at: '2026-12-01T10:00:00.000Z', live: true });
      await a.close();
      await assert.rejects(() => db.tamper(`UPDATE model_audit SET actor = 'mallory'`), /append-only/);
      await assert.rejects(() => db.tamper(`DELETE FROM model_audit`), /append-only/);
      const again = await db.open();
      try {
        assert.deepEqual((await again.listAudit()).map((e) => e.actor), ['system']);
        assert.equal((await again.liveVersion())?.version, '1.5.1');
      } finally {
        await again.close();
      }
    });
  });
}
