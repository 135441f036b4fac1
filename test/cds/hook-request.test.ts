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
    assert.deepEqual(expressions(() => parseFeedback('svc', { feedback: [{ card: 'c', outcome: 'ignored', outcomeTimestamp: 't' }] })), ['feedback.0.outcome']);
  });
});
