import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceRequest } from 'fhir/r4';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import type { TriageReport } from '../../src/report/triage-report.ts';
import { createReportStore } from '../../src/sandbox/report-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import { counterIds, highImage, lowImage, moderateImage, referral, reportInput } from '../report/fixtures.ts';
import type { ReferralImageOutcome } from '../../src/report/triage-report.ts';

let ids = 0;
function reportFor(referralId: string, img: ReferralImageOutcome, issued = '2026-11-27T09:30:00Z'): TriageReport {
  const sr = { ...referral, id: referralId } satisfies ServiceRequest;
  const base = counterIds();
  const prefix = (++ids).toString(16).padStart(8, '0');
  return buildTriageReport(reportInput([img], { referral: sr, now: new Date(issued), newId: () => base().replace(/^00000000/, prefix) }));
}

describe('report store (the sandbox queue)', () => {
  it('orders the latest report per referral by category, then probability, then time', async () => {
    const store = createReportStore(await openSqliteStore(':memory:'));
    await store.add(reportFor('low', lowImage()));
    await store.add(reportFor('moderate', moderateImage()));
    await store.add(reportFor('high-late', highImage(), '2026-11-27T10:00:00Z'));
    await store.add(reportFor('high-early', highImage(), '2026-11-27T09:00:00Z'));
    assert.deepEqual(
      (await store.queue()).map((e) => [e.referral, e.category]),
      [
        ['ServiceRequest/high-early', 'high'],
        ['ServiceRequest/high-late', 'high'],
        ['ServiceRequest/moderate', 'moderate'],
        ['ServiceRequest/low', 'low'],
      ],
    );
  });

  it('keeps only the last report of a referral in the queue, and every report for the viewer', async () => {
    const store = createReportStore(await openSqliteStore(':memory:'));
    const first = reportFor('r1', highImage());
    const second = reportFor('r1', lowImage());
    await store.add(first);
    await store.add(second);
    const queue = (await store.queue());
    assert.equal(queue.length, 1);
    assert.equal(queue[0]?.reportId, second.resources.report.id);
    assert.equal(queue[0]?.viewerPath, `/viewer/${second.resources.report.id ?? ''}`);
    assert.equal((await store.tryGet(first.resources.report.id ?? ''))?.reportId, first.resources.report.id);
  });

  it('forgets the oldest reports past its capacity, and their queue rows with them', async () => {
    const store = createReportStore(await openSqliteStore(':memory:'), { capacity: 2 });
    const a = reportFor('a', lowImage());
    await store.add(a);
    await store.add(reportFor('b', lowImage()));
    await store.add(reportFor('c', lowImage()));
    assert.equal(await store.tryGet(a.resources.report.id ?? ''), undefined);
    assert.deepEqual((await store.queue()).map((e) => e.referral).sort(), ['ServiceRequest/b', 'ServiceRequest/c']);
  });
});
