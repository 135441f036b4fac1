import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { reportResources, toTransactionBundle } from '../../src/report/transaction-bundle.ts';
import { failedResult, highImage, image, lowImage, moderateImage, patient, reportInput } from './fixtures.ts';

/** Every `reference` string anywhere inside a value. */
function referencesIn(x: unknown, out: string[] = []): string[] {
  if (Array.isArray(x)) {
    x.forEach((v) => referencesIn(v, out));
  } else if (typeof x === 'object' && x !== null) {
    for (const [k, v] of Object.entries(x)) {
      if (k === 'reference' && typeof v === 'string') {
        out.push(v);
      } else {
        referencesIn(v, out);
      }
    }
  }
  return out;
}

describe('report cross-references', () => {
  const images = [highImage(1), image(2, failedResult('Media/img-2')), moderateImage(3), lowImage(4)];
  const r = buildTriageReport(reportInput(images));
  const created = reportResources(r);
  const fullUrls = new Set(r.fullUrls.values());
  const external = new Set(['ServiceRequest/ref-1', patient.reference, ...images.filter((i) => i.result.ok).map((i) => i.source.reference)]);

  it('gives every created resource a UUID id and a distinct urn:uuid fullUrl', () => {
    assert.equal(fullUrls.size, created.length);
    for (const res of created) {
      assert.match(res.id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(r.fullUrls.get(`${res.resourceType}/${res.id}`), `urn:uuid:${res.id}`);
    }
  });

  it('resolves every reference to a resource of the set, or to the referral, patient or a readable source image', () => {
    const refs = created.flatMap((res) => referencesIn(res));
    assert.ok(refs.length > 20);
    const dangling = refs.filter((ref) => !fullUrls.has(ref) && !external.has(ref));
    assert.deepEqual(dangling, []);
  });

  it('uses urn:uuid for every link between created resources, so the set applies as one transaction', () => {
    const internal = created.flatMap((res) => referencesIn(res)).filter((ref) => /^(Observation|Media|Device|DiagnosticReport|Provenance)\//.test(ref));
    assert.deepEqual(internal.filter((ref) => !ref.startsWith('Media/img-')), []);
  });

  it('becomes a transaction Bundle whose fullUrls are the referenced urns', () => {
    const b = toTransactionBundle(r);
    assert.equal(b.type, 'transaction');
    assert.deepEqual(new Set(b.entry?.map((e) => e.fullUrl)), fullUrls);
    for (const e of b.entry ?? []) {
      assert.equal(e.request?.method, 'POST');
      assert.equal(e.request.url, e.resource?.resourceType);
    }
    const device = b.entry?.find((e) => e.resource?.resourceType === 'Device');
    assert.match(device?.request?.ifNoneExist ?? '', /^identifier=http:\/\/bcc-cds\.org\/fhir\/NamingSystem\/model-sha256\|[0-9a-f]{64}$/);
  });

  it('rejects an id generator that does not produce UUIDs', () => {
    assert.throws(() => buildTriageReport(reportInput([highImage()], { newId: () => 'obs-1' })), /not a UUID/);
  });
});
