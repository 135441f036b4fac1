import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceRequest } from 'fhir/r4';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { findDermatologyReferralEntries, findDermatologyReferrals } from '../../src/referral/find-referrals.ts';
import type { ReferralValueSet } from '../../src/referral/referral-value-set.ts';

const SCT = 'http://snomed.info/sct';
/** A hospital value set that lists a referral procedure (308472003 Referral to dermatologist) but not the specialty 394582007. */
const valueSet: ReferralValueSet = { codes: [{ system: SCT, code: '308472003' }] };

function sr(id: string | undefined, fields: Partial<ServiceRequest> = {}): ServiceRequest {
  return { resourceType: 'ServiceRequest', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' }, ...(id ? { id } : {}), ...fields } satisfies ServiceRequest;
}

const byCode = sr('code', { code: { coding: [{ system: SCT, code: '308472003' }] } });
const byCategory = sr('cat', { category: [{ text: 'x' }, { coding: [{}, { system: SCT, code: '308472003' }] }] });
const byPerformerType = sr('perf', { performerType: { coding: [{ system: SCT, code: '394582007', display: 'Dermatology' }] } });
const cardiology = sr('cardio', { code: { text: 'Referral to cardiology' }, performerType: { coding: [{ system: SCT, code: '394579002', display: 'Cardiology' }] } });

function ids(list: readonly ServiceRequest[]): (string | undefined)[] {
  return list.map((r) => r.id);
}

describe('findDermatologyReferrals', () => {
  it('accepts a draftOrders Bundle without type (as the CDS Hooks sandbox sends it)', () => {
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: byCode }] };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders }, valueSet)), ['code']);
  });

  it('matches on code, any category and performerType; leaves a non-dermatology order out', () => {
    const draftOrders = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: cardiology }, { resource: byCode }, { resource: byCategory }, { resource: byPerformerType }] };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders }, valueSet)), ['code', 'cat', 'perf']);
  });

  it('always matches SNOMED CT 394582007 in performerType, even when the configured file omits it', () => {
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: byPerformerType }] };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders }, { codes: [] })), ['perf']);
  });

  it('does not match 394582007 in code when the configured file omits it (the guarantee is for performerType)', () => {
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: sr('c', { code: { coding: [{ system: SCT, code: '394582007' }] } }) }] };
    assert.deepEqual(findDermatologyReferrals({ draftOrders }, { codes: [] }), []);
  });

  it('needs system and code together: a bare code or another system does not match', () => {
    const bare = sr('bare', { code: { coding: [{ code: '308472003' }] } });
    const otherSystem = sr('other', { code: { coding: [{ system: 'http://loinc.org', code: '308472003' }] } });
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: bare }, { resource: otherSystem }] };
    assert.deepEqual(findDermatologyReferrals({ draftOrders }, valueSet), []);
  });

  it('never crashes on empty or malformed codings (`coding: [{}]` from the official sandbox)', () => {
    const odd: unknown[] = [
      { resourceType: 'ServiceRequest', id: 'a', code: { coding: [{}] } },
      { resourceType: 'ServiceRequest', id: 'b', code: { coding: [null, 3, 'x'] }, category: 'not-an-array', performerType: [{ coding: {} }] },
      { resourceType: 'ServiceRequest', id: 'c', code: null, category: [null], performerType: null },
    ];
    const draftOrders = { resourceType: 'Bundle', entry: odd.map((resource) => ({ resource })) };
    assert.deepEqual(findDermatologyReferrals({ draftOrders }, valueSet), []);
  });

  it('reads performerType sent as an array', () => {
    const asArray = { resourceType: 'ServiceRequest', id: 'arr', performerType: [{ coding: [{ system: SCT, code: '394582007' }] }] };
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: asArray }] };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders }, valueSet)), ['arr']);
  });

  it('ignores entries that are not ServiceRequests, or have no resource', () => {
    const draftOrders = {
      resourceType: 'Bundle',
      entry: [{}, { resource: { resourceType: 'MedicationRequest', id: 'm', code: { coding: [{ system: SCT, code: '308472003' }] } } }, null, { resource: byCode }],
    };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders }, valueSet)), ['code']);
  });

  it('with selections (order-select), counts only the selected orders', () => {
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: byCode }, { resource: byCategory }, { resource: cardiology }] };
    assert.deepEqual(ids(findDermatologyReferrals({ draftOrders, selections: ['ServiceRequest/cat', 'ServiceRequest/cardio'] }, valueSet)), ['cat']);
    assert.deepEqual(findDermatologyReferrals({ draftOrders, selections: [] }, valueSet), []);
    // A selection names a resource type and id; a bare id is not a selection of the referral.
    assert.deepEqual(findDermatologyReferrals({ draftOrders, selections: ['code'] }, valueSet), []);
  });

  it('keeps a referral without id, addressed by its position; it can never be selected', () => {
    const noId = sr(undefined, { code: { coding: [{ system: SCT, code: '308472003' }] } });
    const draftOrders = { resourceType: 'Bundle', entry: [{ resource: cardiology }, { resource: noId }, { resource: byCode }] };
    const found = findDermatologyReferralEntries({ draftOrders }, valueSet);
    assert.deepEqual(
      found.map((f) => [f.where, f.reference]),
      [
        ['context.draftOrders.entry[1].resource', undefined],
        ['context.draftOrders.entry[2].resource', 'ServiceRequest/code'],
      ],
    );
    assert.deepEqual(findDermatologyReferrals({ draftOrders, selections: ['ServiceRequest/undefined'] }, valueSet), []);
  });

  it('returns nothing for a Bundle without entries', () => {
    assert.deepEqual(findDermatologyReferrals({ draftOrders: { resourceType: 'Bundle' } }, valueSet), []);
  });

  it('refuses draftOrders that are not a Bundle, with a 400 naming the element', () => {
    for (const draftOrders of [undefined, null, [], { resourceType: 'ServiceRequest' }]) {
      assert.throws(
        () => findDermatologyReferrals({ draftOrders }, valueSet),
        (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 400 && err.outcome.issue[0]?.expression?.[0] === 'context.draftOrders',
      );
    }
    assert.throws(
      () => findDermatologyReferrals({ draftOrders: { resourceType: 'Bundle', entry: {} } }, valueSet),
      (err: unknown) => err instanceof OperationOutcomeError && err.outcome.issue[0]?.expression?.[0] === 'context.draftOrders.entry',
    );
  });
});
