import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';
import type { StoredFeedback } from '../../src/feedback/feedback-store.ts';
import type { DecidedQueueEntry } from '../../src/viewer/queue-query.ts';
import { pageQueue, parseQueueQuery, withDecisions } from '../../src/viewer/queue-query.ts';
import type { QueueEntry } from '../../src/viewer/report-store.ts';

function entry(n: number, category: QueueEntry['category'], p: number, issued: string): QueueEntry {
  return {
    reportId: `r${n}`,
    referral: `ServiceRequest/s${n}`,
    patient: 'Patient/p1',
    category,
    categoryDisplay: category,
    bccProbability: p,
    issued,
    imageCount: 1,
    modelVersion: 'bcc-mtl-mnv2 1.5.1',
    viewerPath: `/viewer/r${n}`,
  } satisfies QueueEntry;
}

function feedback(referral: string, issuedAt: string, outcome: StoredFeedback['outcome'], at: string, comment?: string): StoredFeedback {
  return {
    id: 1,
    serviceId: 'bcc-triage-order-sign',
    card: `card-${referral}-${at}`,
    outcome,
    acceptedSuggestions: [],
    outcomeTimestamp: at,
    receivedAt: at,
    ...(comment ? { overrideComment: comment } : {}),
    issued: { uuid: 'u', serviceId: 'bcc-triage-order-sign', hookInstance: 'h', referral, category: 'high', bccProbability: 0.9, modelVersion: '1.5.1', issuedAt },
  } satisfies StoredFeedback;
}

function rejection(query: Record<string, unknown>): string[] {
  try {
    parseQueueQuery(query);
  } catch (err) {
    assert.ok(err instanceof OperationOutcomeError);
    return err.outcome.issue.map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? ''}`);
  }
  assert.fail(`accepted ${JSON.stringify(query)}`);
}

const T = (h: number): string => `2026-12-02T${String(h).padStart(2, '0')}:00:00.000Z`;
// In priority order, as the report store gives them.
const queue: DecidedQueueEntry[] = [
  { ...entry(1, 'high', 0.95, T(9)), decision: 'accepted', decidedAt: T(10) },
  { ...entry(2, 'high', 0.9, T(8)), decision: 'pending' },
  { ...entry(3, 'moderate', 0.4, T(11)), decision: 'overridden', decidedAt: T(12) },
  { ...entry(4, 'indeterminate', 0.5, T(7)), decision: 'pending' },
  { ...entry(5, 'low', 0.05, T(12)), decision: 'pending' },
];

describe('queue query (GET /sandbox/api/queue)', () => {
  it('defaults: every referral, priority order, page 1 of 20', () => {
    assert.deepEqual(parseQueueQuery({}), { priority: [], state: [], sort: 'priority', page: 1, pageSize: 20 });
  });

  it('takes filters repeated or comma-separated, and one sort, page and page size', () => {
    assert.deepEqual(parseQueueQuery({ priority: ['high', 'low'], state: 'pending,overridden', sort: 'newest', page: '2', pageSize: '5' }), {
      priority: ['high', 'low'],
      state: ['pending', 'overridden'],
      sort: 'newest',
      page: 2,
      pageSize: 5,
    });
  });

  it('refuses unknown parameters and values, naming each', () => {
    assert.deepEqual(rejection({ priority: 'urgent' }), ['priority: priority "urgent" is not a triage category (high, moderate, indeterminate, low)']);
    assert.deepEqual(rejection({ sort: 'name' }), ['sort: sort "name" is not one of priority, newest, oldest, probability']);
    assert.deepEqual(rejection({ pageSize: '101' }), ['pageSize: pageSize must be a whole number from 1 to 100, got "101"']);
    assert.deepEqual(rejection({ page: '0' }), ['page: page must be a whole number from 1 to 100000, got "0"']);
    assert.deepEqual(rejection({ page: '1.5', colour: 'red' }), ['colour: unknown query parameter "colour" (known: priority, state, sort, page, pageSize)', 'page: page must be a whole number from 1 to 100000, got "1.5"']);
    assert.deepEqual(rejection({ sort: ['newest', 'oldest'] }), ['sort: sort takes one value']);
    assert.deepEqual(rejection({ state: { nested: 'x' } }), ['state: state must be a plain value']);
  });

  it('filters by priority and decision', () => {
    const page = pageQueue(queue, { ...parseQueueQuery({}), priority: ['high', 'moderate'], state: ['pending', 'overridden'] });
    assert.deepEqual(page.entries.map((e) => e.reportId), ['r2', 'r3']);
    assert.equal(page.total, 2);
  });

  it('sorts by priority (as given), newest, oldest or probability', () => {
    const order = (sort: string): string[] => pageQueue(queue, parseQueueQuery({ sort })).entries.map((e) => e.reportId);
    assert.deepEqual(order('priority'), ['r1', 'r2', 'r3', 'r4', 'r5']);
    assert.deepEqual(order('newest'), ['r5', 'r3', 'r1', 'r2', 'r4']);
    assert.deepEqual(order('oldest'), ['r4', 'r2', 'r1', 'r3', 'r5']);
    assert.deepEqual(order('probability'), ['r1', 'r2', 'r4', 'r3', 'r5']);
  });

  it('pages, saying the total and the number of pages; past the last page is an empty page', () => {
    const second = pageQueue(queue, parseQueueQuery({ page: '2', pageSize: '2' }));
    assert.deepEqual(second.entries.map((e) => e.reportId), ['r3', 'r4']);
    assert.deepEqual([second.total, second.page, second.pages], [5, 2, 3]);
    const beyond = pageQueue(queue, parseQueueQuery({ page: '9', pageSize: '2' }));
    assert.deepEqual([beyond.entries.length, beyond.pages], [0, 3]);
    assert.equal(pageQueue([], parseQueueQuery({})).pages, 1);
  });

  it('takes each row decision from the latest feedback on the card issued with its report', () => {
    const entries = [entry(1, 'high', 0.9, T(9)), entry(2, 'moderate', 0.4, T(9)), entry(3, 'low', 0.1, T(9))];
    const decided = withDecisions(entries, {
      feedback: [
        feedback('ServiceRequest/s1', T(9), 'accepted', T(10)),
        feedback('ServiceRequest/s2', T(9), 'accepted', T(10)),
        feedback('ServiceRequest/s2', T(9), 'overridden', T(11), 'seen in clinic'),
        // A card from an earlier report on the same referral: not this row's decision.
        feedback('ServiceRequest/s3', T(8), 'accepted', T(8)),
      ],
    });
    assert.deepEqual(
      decided.map((e) => [e.reportId, e.decision, e.decidedAt, e.overrideComment]),
      [
        ['r1', 'accepted', T(10), undefined],
        ['r2', 'overridden', T(11), 'seen in clinic'],
        ['r3', 'pending', undefined, undefined],
      ],
    );
  });
});
