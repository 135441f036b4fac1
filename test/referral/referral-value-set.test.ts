import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import {
  DERMATOLOGY_SPECIALTY,
  isDermatologySpecialty,
  isReferralCoding,
  loadReferralValueSet,
  parseReferralValueSet,
} from '../../src/referral/referral-value-set.ts';

describe('referral value set', () => {
  it('loads the shipped cds-hooks/referral-codes.json, which lists the dermatology specialty', async () => {
    const vs = await loadReferralValueSet();
    assert.ok(vs.codes.length >= 1);
    assert.ok(isReferralCoding(vs, DERMATOLOGY_SPECIALTY));
  });

  it('accepts the documented shape, dropping keys it does not know', () => {
    const vs = parseReferralValueSet({
      $comment: 'owned by the terminology team',
      codes: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology', verifiedFrom: 'browser', note: 'x' }],
    });
    assert.deepEqual(vs, { codes: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology', verifiedFrom: 'browser' }] });
  });

  it('merges the split layout (specialties + referralProcedures) into one list', () => {
    const vs = parseReferralValueSet({
      specialties: [{ system: 'http://snomed.info/sct', code: '394582007', element: 'ServiceRequest.performerType' }],
      referralProcedures: [{ system: 'http://snomed.info/sct', code: '308472003', element: 'ServiceRequest.code' }],
      notIncluded: [{ display: 'x', reason: 'y' }],
    });
    assert.deepEqual(
      vs.codes.map((c) => c.code),
      ['394582007', '308472003'],
    );
  });

  it('refuses a file with no code list at all', () => {
    assert.throws(() => parseReferralValueSet({ $comment: 'empty' }), /needs a codes list/);
  });

  it('refuses a wrong shape with a 400 naming the element', () => {
    assert.throws(
      () => parseReferralValueSet({ codes: [{ system: 'http://snomed.info/sct', code: '' }] }, 'referral-codes.json'),
      (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 400 && err.outcome.issue[0]?.expression?.[0] === 'referral-codes.json.codes.0.code',
    );
    assert.throws(() => parseReferralValueSet({ codes: [{ code: '394582007' }] }), OperationOutcomeError);
    assert.throws(() => parseReferralValueSet({ codes: [{ system: 'http://snomed.info/sct', code: '394582007 ' }] }), OperationOutcomeError);
  });

  it('reports an unreadable or non-JSON file', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'referral-codes-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await assert.rejects(loadReferralValueSet(join(dir, 'missing.json')), /cannot read referral value set/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ codes: ');
    await assert.rejects(loadReferralValueSet(bad), /is not JSON/);
  });

  it('matches codings on system and code, tolerating empty and odd codings', () => {
    const vs = parseReferralValueSet({ codes: [{ system: 'http://snomed.info/sct', code: '308472003' }] });
    assert.equal(isReferralCoding(vs, { system: 'http://snomed.info/sct', code: '308472003' }), true);
    for (const c of [{}, null, 'x', { code: '308472003' }, { system: 'http://snomed.info/sct', code: 308472003 }]) {
      assert.equal(isReferralCoding(vs, c), false);
    }
    assert.equal(isDermatologySpecialty({ system: 'http://snomed.info/sct', code: '394582007' }), true);
    assert.equal(isDermatologySpecialty({ system: 'http://snomed.info/sct/900000000000207008', code: '394582007' }), false);
  });
});
