import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { reportResources, toTransactionBundle } from '../../src/report/transaction-bundle.ts';
import { failedResult, highImage, image, lowImage, manifest, moderateImage, patient, reportInput } from './fixtures.ts';

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
    assert.match(device?.request?.ifNoneExist ?? '', /^identifier=http:\/\/bcc-cds\.org\/fhir\/NamingSystem\/model-manifest-sha256\|[0-9a-f]{64}$/);
  });

  it('gives each model version its own Device, even versions that share the network (learned heads)', () => {
    const learned = { ...manifest, version: '1.6.0', patterns: manifest.patterns.map((p) => (p.id === 'ulceration' ? { ...p, trained: true, threshold: 0.4 } : p)) };
    const devices = [manifest, learned].map((m) => toTransactionBundle(buildTriageReport(reportInput([highImage()], { manifest: m }))).entry?.find((e) => e.resource?.resourceType === 'Device'));
    const keys = devices.map((d) => d?.request?.ifNoneExist);
    assert.equal(new Set(keys).size, 2, 'two versions, two conditional-create keys');
    const networks = devices.map((d) => (d?.resource?.resourceType === 'Device' ? d.resource.identifier?.[0]?.value : undefined));
    assert.equal(networks[0], networks[1], 'the network sha256 is the same');
    assert.equal(networks[0], manifest.sha256);
  });

  it('rejects an id generator that does not produce UUIDs', () => {
    assert.throws(() => buildTriageReport(reportInput([highImage()], { newId: () => 'obs-1' })), /not a UUID/);
  });
});
