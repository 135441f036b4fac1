import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFeedback } from '../../src/cds/feedback-request.ts';
import { parseHookRequest } from '../../src/cds/hook-request.ts';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';

const base = {
  hook: 'order-sign',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: [] } },
};

function expressions(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OperationOutcomeError);
    return e.outcome.issue.flatMap((i) => i.expression ?? []);
  }
  assert.fail('expected an OperationOutcomeError');
}

describe('hook request', () => {
  it('accepts what the official sandbox sends: Bundle without type, no fhirAuthorization', () => {
    const r = parseHookRequest({ ...base, fhirServer: 'https://ehr.example.org/fhir' });
    assert.equal(r.context.patientId, 'p1');
    assert.equal(r.fhirAuthorization, undefined);
  });

  it('accepts a null prefetch value and a null fhirAuthorization', () => {
    const r = parseHookRequest({ ...base, fhirAuthorization: null, prefetch: { images: null } });
    assert.equal(r.prefetch?.images, null);
  });

  it('names each missing element', () => {
    assert.deepEqual(expressions(() => parseHookRequest({ hook: 'order-sign' })).sort(), ['context', 'hookInstance']);
    assert.deepEqual(expressions(() => parseHookRequest({ ...base, context: { ...base.context, patientId: undefined } })), ['context.patientId']);
  });

  it('rejects draftOrders that are not a Bundle', () => {
    assert.deepEqual(expressions(() => parseHookRequest({ ...base, context: { ...base.context, draftOrders: [] } })), ['context.draftOrders']);
  });

  it('rejects a fhirServer that is not a URL and a token without type', () => {
    const ex = expressions(() => parseHookRequest({ ...base, fhirServer: 'not a url', fhirAuthorization: { access_token: 'x' } }));
    assert.deepEqual(ex.sort(), ['fhirAuthorization.token_type', 'fhirServer']);
  });
});

describe('feedback request', () => {
  it('maps accepted and overridden feedback', () => {
    const items = parseFeedback('svc', {
      feedback: [
        { card: 'c1', outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }], outcomeTimestamp: '2026-11-26T10:00:00Z' },
        { card: 'c2', outcome: 'overridden', overrideReason: { reason: { code: 'image-quality', system: 'http://x' }, userComment: 'blurry' }, outcomeTimestamp: '2026-11-26T10:00:00Z' },
      ],
    });
    assert.deepEqual(items[0]?.acceptedSuggestions, ['s1']);
    assert.equal(items[1]?.overrideReasonCode, 'image-quality');
    assert.equal(items[1].overrideComment, 'blurry');
  });

  it('rejects an unknown outcome, naming it', () => {
    assert.deepEqual(expressions(() => parseFeedback('svc', { feedback: [{ card: 'c', outcome: 'ignored', outcomeTimestamp: '2026-11-26T10:00:00Z' }] })), ['feedback.0.outcome']);
  });

  it('holds the CDS Hooks 2.0 rules: acceptedSuggestions for accepted, a UTC RFC 3339 timestamp, a full Coding, nothing empty', () => {
    const at = '2026-11-26T10:00:00Z';
    const cases: [string, unknown, string[]][] = [
      ['accepted without acceptedSuggestions', { card: 'c', outcome: 'accepted', outcomeTimestamp: at }, ['feedback.0.acceptedSuggestions']],
      ['an empty acceptedSuggestions', { card: 'c', outcome: 'accepted', acceptedSuggestions: [], outcomeTimestamp: at }, ['feedback.0.acceptedSuggestions']],
      ['a local-time timestamp', { card: 'c', outcome: 'overridden', outcomeTimestamp: '2026-11-26T11:00:00+01:00' }, ['feedback.0.outcomeTimestamp']],
      ['a date only', { card: 'c', outcome: 'overridden', outcomeTimestamp: '2026-11-26' }, ['feedback.0.outcomeTimestamp']],
      ['a reason without its system', { card: 'c', outcome: 'overridden', overrideReason: { reason: { code: 'x' } }, outcomeTimestamp: at }, ['feedback.0.overrideReason.reason.system']],
      ['an empty overrideReason', { card: 'c', outcome: 'overridden', overrideReason: {}, outcomeTimestamp: at }, ['feedback.0.overrideReason']],
      ['an empty card', { card: '', outcome: 'overridden', outcomeTimestamp: at }, ['feedback.0.card']],
    ];
    for (const [what, item, expected] of cases) {
      assert.deepEqual(expressions(() => parseFeedback('svc', { feedback: [item] })), expected, what);
    }
    assert.deepEqual(expressions(() => parseFeedback('svc', { feedback: [] })), ['feedback'], 'an empty feedback array');
    const ok = parseFeedback('svc', { feedback: [{ card: 'c', outcome: 'overridden', outcomeTimestamp: '2026-11-26T10:00:00.52+00:00', extension: { 'org.example.x': 1 } }] });
    assert.equal(ok.length, 1, 'overridden without a reason, fractional seconds, +00:00 and an extension are all fine');
  });
});
