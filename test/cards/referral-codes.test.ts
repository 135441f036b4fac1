import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReferralCoding, loadReferralValueSet } from '../../src/referral/referral-value-set.ts';

// cds-hooks/referral-codes.json is data this folder maintains; src/referral reads it.
const vs = await loadReferralValueSet();

describe('cds-hooks/referral-codes.json', () => {
  it('lists the dermatology specialty and the dermatology referral procedures', () => {
    assert.deepEqual(
      vs.codes.map((c) => `${c.code} ${c.display ?? ''}`),
      ['394582007 Dermatology', '308472003 Referral to dermatologist', '183897008 Private referral to dermatologist'],
    );
    assert.ok(isReferralCoding(vs, { system: 'http://snomed.info/sct', code: '308472003' }));
  });

  it('says for every code where it was verified, and in which element it is expected', () => {
    for (const c of vs.codes) {
      assert.ok((c.verifiedFrom ?? '').length > 20, `${c.code} has no verifiedFrom`);
      assert.ok(['ServiceRequest.performerType', 'ServiceRequest.code'].includes(c.element ?? ''), `${c.code} has no element`);
      assert.equal(c.system, 'http://snomed.info/sct');
    }
  });
});
