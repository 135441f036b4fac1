/**
 * The storage contract, run against both implementations: embedded SQLite (single process) and a
 * real PostgreSQL cluster (replicas; Debian binaries, test/support/postgres.ts). "Two replicas" are
 * two store handles on the same file or database.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnnotationRecord } from '../../src/annotation/annotation-store.ts';
import type { FeedbackRecord, IssuedCard } from '../../src/feedback/feedback-store.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { toQueueEntry } from '../../src/viewer/report-store.ts';
import { viewerModelFromReport } from '../../src/viewer/viewer-model.ts';
import { openPostgresStore } from '../../src/storage/postgres-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import type { StoredReport } from '../../src/viewer/report-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import { counterIds, highImage, lowImage, referral, reportInput } from '../report/fixtures.ts';
import type { PostgresCluster } from '../support/postgres.ts';
import { startPostgres } from '../support/postgres.ts';

/** Where one test's data lives; open() gives another handle on it (another replica). */
interface Backend {
  readonly name: string;
  fresh(): Promise<{ open: () => Promise<SharedStore> }>;
}

let cluster: PostgresCluster | undefined;
let tmp = '';
let dbCount = 0;

const sqlite: Backend = {
  name: 'SQLite',
  async fresh() {
    const path = join(tmp, `store-${++dbCount}.sqlite`);
    return { open: () => openSqliteStore(path) };
  },
};
const postgres: Backend = {
  name: 'PostgreSQL',
  async fresh() {
    if (!cluster) {
      throw new Error('PostgreSQL cluster not started');
    }
    const url = await cluster.createDatabase(`contract_${++dbCount}`);
    return { open: () => openPostgresStore(url) };
  },
};

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bcc-store-'));
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const card = (uuid: string, issuedAt: string, extra: Partial<IssuedCard> = {}): IssuedCard => ({
  uuid,
  serviceId: 's',
  hookInstance: `h-${uuid}`,
  referral: `ServiceRequest/${uuid}`,
  category: 'high',
  bccProbability: 0.9,
  modelVersion: '1.0.0',
  issuedAt,
  ...extra,
});

let reportIds = 0;
function storedReport(referralId: string, high: boolean): StoredReport {
  const base = counterIds();
  const prefix = (++reportIds).toString(16).padStart(8, '0');
  const report = buildTriageReport(
    reportInput([high ? highImage() : lowImage()], { referral: { ...referral, id: referralId }, newId: () => base().replace(/^00000000/, prefix) }),
  );
  const entry = toQueueEntry(report);
  return { reportId: entry.reportId, referral: entry.referral, entry, viewer: viewerModelFromReport(report) };
}

const DERM_A = { issuer: 'https://idp.example.org', id: 'derm-a', name: 'Dr A' } as const;
const DERM_B = { issuer: 'https://idp.example.org', id: 'derm-b' } as const;

function annotation(extra: Partial<AnnotationRecord> = {}): AnnotationRecord {
  return {
    id: randomUUID(),
    reportId: 'rep-1',
    image: 'Media/m1',
    pattern: 'ulceration',
    value: 'present',
    annotator: DERM_A,
    referral: 'ServiceRequest/sr1',
    patient: 'Patient/p1',
    model: { name: 'bcc-mtl-mnv2', version: '1.5.0' },
    at: '2026-12-01T10:00:00.000Z',
    ...extra,
  };
}

async function using<T>(stores: SharedStore[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

for (const backend of [sqlite, postgres]) {
  describe(`shared store contract: ${backend.name}`, () => {
    it('keeps cards and feedback across a reopen, joined by card uuid', async () => {
      const db = await backend.fresh();
      const a = await db.open();
      await a.recordCards([card('c1', '2026-11-26T10:00:00Z')]);
      const n = await a.recordFeedback(
        [
          { serviceId: 's', card: 'c1', outcome: 'overridden', acceptedSuggestions: [], overrideReasonCode: 'image-quality', overrideComment: 'blurred', outcomeTimestamp: '2026-11-26T10:01:00Z' },
          { serviceId: 's', card: 'unknown-card', outcome: 'accepted', acceptedSuggestions: ['sug-1'], outcomeTimestamp: '2026-11-26T10:02:00Z' },
        ],
        '2026-11-26T10:03:00Z',
      );
      assert.equal(n, 2);
      await a.close();
      const b = await db.open();
      await using([b], async () => {
        const rows = await b.listFeedback();
        assert.deepEqual(
          rows.map((r) => r.card),
          ['unknown-card', 'c1'],
          'newest first',
        );
        const overridden = rows.find((r) => r.card === 'c1');
        assert.equal(overridden?.outcome, 'overridden');
        assert.equal(overridden.overrideReasonCode, 'image-quality');
        assert.equal(overridden.overrideComment, 'blurred');
        assert.equal(overridden.receivedAt, '2026-11-26T10:03:00Z');
        assert.deepEqual(overridden.issued, card('c1', '2026-11-26T10:00:00Z'));
        const accepted = rows.find((r) => r.card === 'unknown-card');
        assert.deepEqual(accepted?.acceptedSuggestions, ['sug-1']);
        assert.equal(accepted.issued, undefined);
        assert.equal(typeof accepted.id, 'number');
        assert.deepEqual(await b.countByOutcome(), { accepted: 1, overridden: 1 });
        assert.equal((await b.listFeedback(1)).length, 1);
      });
    });

    it('replaces a card issued again under its uuid, and lists unanswered cards for the export', async () => {
      const db = await backend.fresh();
      const s = await db.open();
      await using([s], async () => {
        await s.recordCards([card('c1', '2026-11-26T10:00:00Z'), card('c2', '2026-11-26T09:00:00Z', { bccProbability: null, category: 'no-images' })]);
        await s.recordCards([card('c1', '2026-11-26T10:00:00Z', { category: 'low' })]);
        await s.recordFeedback([{ serviceId: 's', card: 'c1', outcome: 'accepted', acceptedSuggestions: [], outcomeTimestamp: 't' }], 'r');
        const out = await s.listCardOutcomes();
        assert.deepEqual(
          out.feedback.map((f) => [f.card, f.issued?.category]),
          [['c1', 'low']],
        );
        assert.deepEqual(out.unanswered, [card('c2', '2026-11-26T09:00:00Z', { bccProbability: null, category: 'no-images' })]);
      });
    });

    it('stores a feedback batch whole or not at all', async () => {
      const db = await backend.fresh();
      const s = await db.open();
      await using([s], async () => {
        const good: FeedbackRecord = { serviceId: 's', card: 'c1', outcome: 'accepted', acceptedSuggestions: [], outcomeTimestamp: 't' };
        // A row the schema refuses (NOT NULL outcome_timestamp) after a good one.
        const bad = { ...good, card: 'c2', outcomeTimestamp: null } as unknown as FeedbackRecord;
        await assert.rejects(s.recordFeedback([good, bad], 'r'));
        assert.deepEqual(await s.listFeedback(), []);
      });
    });

    it('feedback written through one replica is read through another', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        await a.recordCards([card('c1', 't0')]);
        await a.recordFeedback([{ serviceId: 's', card: 'c1', outcome: 'accepted', acceptedSuggestions: ['x'], outcomeTimestamp: 't1' }], 't2');
        const seen = await b.listFeedback();
        assert.equal(seen.length, 1);
        assert.equal(seen[0]?.issued?.uuid, 'c1');
      });
    });

    it('names the model version of each issued card, through another replica, leaving out cards it never issued', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        await a.recordCards([card('c1', 't0'), card('c2', 't0', { modelVersion: '1.6.0' })]);
        const versions = await b.cardModelVersions(['c2', 'never-issued', 'c1']);
        assert.deepEqual([...versions.entries()].sort(), [['c1', '1.0.0'], ['c2', '1.6.0']]);
        assert.equal((await b.cardModelVersions([])).size, 0);
      });
    });

    it('remembers a jti until it expires, per issuer, and refuses a replay on another replica', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const t = 1_800_000_000_000;
        assert.equal(await a.rememberJti('iss-1', 'j1', t + 60_000, t), true);
        assert.equal(await b.rememberJti('iss-1', 'j1', t + 60_000, t + 1000), false, 'replayed to the other replica');
        assert.equal(await a.rememberJti('iss-1', 'j1', t + 60_000, t + 59_999), false, 'still unexpired');
        assert.equal(await b.rememberJti('iss-2', 'j1', t + 60_000, t), true, 'another issuer may use the same jti');
        assert.equal(await b.rememberJti('iss-1', 'j1', t + 200_000, t + 60_000), true, 'expired: a new token may reuse it');
        assert.equal(await a.rememberJti('iss-1', 'j1', t + 200_000, t + 61_000), false);
      });
    });

    it('of concurrent uses of one jti on two replicas, exactly one is accepted', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const now = Date.now();
        const jti = randomUUID();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).rememberJti('iss', jti, now + 60_000, now)));
        assert.equal(results.filter(Boolean).length, 1);
      });
    });

    it('keeps viewer results, the latest per referral for the queue, and evicts past capacity', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const first = storedReport('r1', true);
        const second = storedReport('r1', false);
        const other = storedReport('r2', true);
        await a.putReport(first, 10);
        await a.putReport(second, 10);
        await a.putReport(other, 10);
        assert.deepEqual(await b.tryGetReport(first.reportId), first, 'read back whole, through the other replica');
        assert.equal(await b.tryGetReport('no-such-report'), undefined);
        const queue = await b.latestReportPerReferral();
        assert.deepEqual(queue.map((e) => e.reportId).sort(), [second.reportId, other.reportId].sort());
        await b.putReport(storedReport('r3', true), 2);
        assert.equal(await a.tryGetReport(first.reportId), undefined, 'oldest evicted');
        assert.equal(await a.tryGetReport(second.reportId), undefined);
        assert.deepEqual((await a.latestReportPerReferral()).map((e) => e.referral).sort(), ['ServiceRequest/r2', 'ServiceRequest/r3']);
      });
    });

    it('counts rate-limit hits per key and window, shared by replicas', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const w = 1_800_000_000_000;
        assert.equal(await a.countHit('iss:x', w, w + 60_000), 1);
        assert.equal(await b.countHit('iss:x', w, w + 60_000), 2);
        assert.equal(await a.countHit('iss:y', w, w + 60_000), 1, 'another key');
        assert.equal(await b.countHit('iss:x', w + 60_000, w + 120_000), 1, 'the next window starts at zero');
        const counts = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).countHit('iss:z', w, w + 60_000)));
        assert.deepEqual(
          counts.sort((p, q) => p - q),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
          'no lost updates',
        );
      });
    });

    it('keeps annotations whole, lists them by report, image, pattern or all, through another replica', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const region = { png: 'iVBORw0KGgo=', width: 64, height: 48 };
        const first = annotation({ region });
        const put = await a.putAnnotation(first);
        assert.equal(put.replaced, false);
        const { at: _at, ...rest } = first;
        assert.deepEqual(put.annotation, { ...rest, createdAt: first.at, updatedAt: first.at });
        await a.putAnnotation(annotation({ annotator: DERM_B, value: 'cannot-tell', referral: undefined, patient: undefined }));
        await a.putAnnotation(annotation({ image: 'Media/m2', pattern: 'leaf_like_areas', value: 'absent' }));
        await a.putAnnotation(annotation({ reportId: 'rep-2', image: 'Media/m9' }));
        const all = await b.listAnnotations();
        assert.equal(all.length, 4);
        assert.deepEqual(all[0], put.annotation, 'read back whole (region, name, referral, patient, model), oldest first');
        const second = all[1];
        assert.equal(second?.annotator.name, undefined);
        assert.equal(second?.referral, undefined);
        assert.equal(second?.region, undefined);
        assert.deepEqual((await b.listAnnotations({ reportId: 'rep-1' })).map((x) => [x.image, x.annotator.id]), [
          ['Media/m1', 'derm-a'],
          ['Media/m1', 'derm-b'],
          ['Media/m2', 'derm-a'],
        ]);
        assert.deepEqual((await b.listAnnotations({ image: 'Media/m1' })).map((x) => x.annotator.id), ['derm-a', 'derm-b']);
        assert.deepEqual((await b.listAnnotations({ pattern: 'leaf_like_areas' })).map((x) => x.image), ['Media/m2']);
        assert.deepEqual((await b.listAnnotations({ reportId: 'rep-1', pattern: 'ulceration', image: 'Media/m1' })).length, 2);
        assert.deepEqual(await b.listAnnotations({ reportId: 'no-such-report' }), []);
      });
    });

    it('one annotation per report, image, pattern and annotator: a second replaces the first, keeping id and createdAt', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const first = await a.putAnnotation(annotation({ region: { png: 'AAAA', width: 8, height: 8 } }));
        const again = await b.putAnnotation(annotation({ value: 'absent', at: '2026-12-01T11:00:00.000Z', model: { name: 'bcc-mtl-mnv2', version: '1.6.0' } }));
        assert.equal(again.replaced, true);
        assert.equal(again.annotation.id, first.annotation.id, 'the replacement keeps the id');
        assert.equal(again.annotation.createdAt, '2026-12-01T10:00:00.000Z');
        assert.equal(again.annotation.updatedAt, '2026-12-01T11:00:00.000Z');
        assert.equal(again.annotation.value, 'absent');
        assert.equal(again.annotation.model.version, '1.6.0');
        assert.equal(again.annotation.region, undefined, 'replaced whole: the region left out is gone');
        const other = await a.putAnnotation(annotation({ annotator: { ...DERM_A, issuer: 'https://other-idp.example.org' } }));
        assert.equal(other.replaced, false, 'the same id under another issuer is another annotator');
        assert.deepEqual((await a.listAnnotations()).map((x) => [x.annotator.issuer, x.value]), [
          ['https://idp.example.org', 'absent'],
          ['https://other-idp.example.org', 'present'],
        ]);
      });
    });

    it('of concurrent writes of one annotation on two replicas, one row remains', async () => {
      const db = await backend.fresh();
      const [a, b] = [await db.open(), await db.open()];
      await using([a, b], async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).putAnnotation(annotation({ value: i % 3 ? 'present' : 'absent', at: `2026-12-01T10:00:0${i}.000Z` }))),
        );
        assert.equal(results.filter((r) => !r.replaced).length, 1, 'exactly one write created it');
        const rows = await a.listAnnotations();
        assert.equal(rows.length, 1);
        assert.equal(new Set(results.map((r) => r.annotation.id)).size, 1);
      });
    });

    it('refuses an annotation value outside present/absent/cannot-tell, storing nothing', async () => {
      const db = await backend.fresh();
      const s = await db.open();
      await using([s], async () => {
        const bad = { ...annotation(), value: 'maybe' } as unknown as AnnotationRecord;
        await assert.rejects(s.putAnnotation(bad));
        assert.deepEqual(await s.listAnnotations(), []);
      });
    });

    it('replicas opening an empty database at once migrate it once', async () => {
      const db = await backend.fresh();
      const stores = await Promise.all([db.open(), db.open(), db.open()]);
      await using(stores, async () => {
        await Promise.all(stores.map((s) => s.ping()));
        await stores[0].recordCards([card('c1', 't')]);
        assert.equal((await stores[2].listCardOutcomes()).unanswered.length, 1);
      });
    });
  });
}
