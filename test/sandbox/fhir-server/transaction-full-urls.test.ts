import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeholderFullUrls } from '../../../src/sandbox/fhir-server/transaction-full-urls.ts';

const BASE = 'http://ehr.example/fhir';

function ids(): () => string {
  let n = 0;
  return () => `u${++n}`;
}

describe('placeholderFullUrls', () => {
  it('gives POST entries with absolute fullUrls a urn:uuid and rewrites absolute and relative references to them', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: `${BASE}/Observation/o1`, resource: { resourceType: 'Observation', id: 'o1' }, request: { method: 'POST', url: 'Observation' } },
        {
          fullUrl: `${BASE}/DiagnosticReport/r1`,
          resource: { resourceType: 'DiagnosticReport', result: [{ reference: 'Observation/o1' }, { reference: `${BASE}/Observation/o1` }], basedOn: [{ reference: 'ServiceRequest/s1' }] },
          request: { method: 'POST', url: 'DiagnosticReport' },
        },
      ],
    };
    const out = placeholderFullUrls(bundle, BASE, ids()) as typeof bundle;
    assert.equal(out.entry[0]?.fullUrl, 'urn:uuid:u1');
    assert.equal(out.entry[1]?.fullUrl, 'urn:uuid:u2');
    assert.deepEqual(out.entry[1].resource.result, [{ reference: 'urn:uuid:u1' }, { reference: 'urn:uuid:u1' }]);
    assert.deepEqual(out.entry[1].resource.basedOn, [{ reference: 'ServiceRequest/s1' }], 'references outside the bundle stay');
  });

  it('leaves PUT entries, urn fullUrls and non-transaction bundles alone', () => {
    const put = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: `${BASE}/Observation/o1`, request: { method: 'PUT', url: 'Observation/o1' } }] };
    assert.deepEqual(placeholderFullUrls(put, BASE, ids()), put);
    const urn = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:x', request: { method: 'POST', url: 'Observation' } }] };
    assert.deepEqual(placeholderFullUrls(urn, BASE, ids()), urn);
    const search = { resourceType: 'Bundle', type: 'searchset', entry: [{ fullUrl: `${BASE}/Observation/o1`, request: { method: 'POST' } }] };
    assert.deepEqual(placeholderFullUrls(search, BASE, ids()), search);
  });

  it('does not map a relative reference when the absolute fullUrl is on another server', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'http://other.example/fhir/Observation/o1', request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'DiagnosticReport', result: [{ reference: 'Observation/o1' }] }, request: { method: 'POST', url: 'DiagnosticReport' } },
      ],
    };
    const out = placeholderFullUrls(bundle, BASE, ids()) as typeof bundle;
    assert.deepEqual(out.entry[1]?.resource?.result, [{ reference: 'Observation/o1' }]);
  });
});
