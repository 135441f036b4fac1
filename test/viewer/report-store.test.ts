import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceRequest } from 'fhir/r4';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import type { TriageReport, ReferralImageOutcome } from '../../src/report/triage-report.ts';
import { createReportStore, queueKey } from '../../src/viewer/report-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import { counterIds, highImage, lowImage, moderateImage, referral, reportInput } from '../report/fixtures.ts';

let ids = 0;
function reportFor(referralId: string, img: ReferralImageOutcome, issued = '2026-11-27T09:30:00Z'): TriageReport {
  return reportOn({ ...referral, id: referralId } satisfies ServiceRequest, img, issued);
}

/** A draft referral without an id: with a business identifier when `value` is given, else none. */
function idlessReferral(value?: string): ServiceRequest {
  const { id: _id, ...rest } = referral;
  return { ...rest, ...(value !== undefined ? { identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value }] } : {}) } satisfies ServiceRequest;
}

function reportOn(sr: ServiceRequest, img: ReferralImageOutcome, issued = '2026-11-27T09:30:00Z'): TriageReport {
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

  it('keys a referral by its reference, else by identifier system|value, else by the report id', () => {
    assert.equal(queueKey(reportFor('r1', lowImage())), 'ServiceRequest/r1');
    assert.equal(queueKey(reportOn(idlessReferral('REF-1'), lowImage())), 'urn:oid:2.16.840.1.113883.19.5|REF-1');
    const none = reportOn(idlessReferral(), lowImage());
    assert.equal(none.resources.report.basedOn, undefined);
    assert.equal(queueKey(none), none.resources.report.id);
  });

  it('gives reports on different referrals without an id their own queue entries, and one entry per identifier', async () => {
    const store = createReportStore(await openSqliteStore(':memory:'));
    const ref1First = reportOn(idlessReferral('REF-1'), highImage());
    const ref1Latest = reportOn(idlessReferral('REF-1'), lowImage());
    const ref2 = reportOn(idlessReferral('REF-2'), moderateImage());
    const neither1 = reportOn(idlessReferral(), lowImage());
    const neither2 = reportOn(idlessReferral(), lowImage());
    for (const r of [ref1First, ref2, neither1, neither2, ref1Latest]) {
      await store.add(r);
    }
    assert.deepEqual(
      (await store.queue()).map((e) => e.reportId).sort(),
      [ref1Latest, ref2, neither1, neither2].map((r) => r.resources.report.id).sort(),
    );
  });
});
