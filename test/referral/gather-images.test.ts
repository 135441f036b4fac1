import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, FhirResource, Media, OperationOutcome, Resource, ServiceRequest } from 'fhir/r4';
import type { FhirGateway } from '../../src/fhir/fhir-gateway.ts';
import { OperationOutcomeError, getStatus, unprocessable } from '../../src/common/outcomes.ts';
import { gatherReferralImages } from '../../src/referral/gather-images.ts';

/** An in-memory FHIR server: Media search by based-on, read by reference; it records what it was asked. */
class FakeGateway implements FhirGateway {
  readonly calls: string[] = [];
  constructor(private readonly resources: readonly Resource[]) {}

  async search(resourceType: string, params: Readonly<Record<string, string>>): Promise<Bundle> {
    this.calls.push(`search ${resourceType}?${new URLSearchParams(params).toString()}`);
    const basedOn = params['based-on'];
    const hits = this.resources.filter((r): r is Media => r.resourceType === resourceType && isMedia(r) && (r.basedOn ?? []).some((b) => b.reference === basedOn));
    return { resourceType: 'Bundle', type: 'searchset', total: hits.length, entry: hits.map((resource) => ({ resource })) };
  }

  async read(reference: string): Promise<Resource> {
    this.calls.push(`read ${reference}`);
    const found = this.resources.find((r) => reference.endsWith(`${r.resourceType}/${r.id}`));
    if (!found) {
      throw new OperationOutcomeError(unprocessable(`${reference}: not found on the FHIR server (HTTP 404)`));
    }
    return found;
  }

  async fetchAttachment(url: string): Promise<Buffer> {
    this.calls.push(`fetch ${url}`);
    return Buffer.alloc(0);
  }
}

function isMedia(r: Resource): r is Media {
  return r.resourceType === 'Media';
}

const referral = { resourceType: 'ServiceRequest', id: 'ref1', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' } } satisfies ServiceRequest;

function media(id: string, fields: Partial<Media> = {}): Media {
  return {
    resourceType: 'Media',
    id,
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    basedOn: [{ reference: 'ServiceRequest/ref1' }],
    content: { contentType: 'image/jpeg', url: `Binary/${id}` },
    ...fields,
  } satisfies Media;
}

function bundle(...resources: FhirResource[]): Bundle {
  return { resourceType: 'Bundle', type: 'searchset', entry: resources.map((resource) => ({ resource })) };
}

function wheres(images: readonly { where: string }[]): string[] {
  return images.map((i) => i.where);
}

async function rejects412(p: Promise<unknown>, expression: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OperationOutcomeError);
    assert.equal(getStatus(err.outcome), 412);
    assert.deepEqual(err.outcome.issue[0]?.expression, [expression]);
    return true;
  });
}

describe('gatherReferralImages', () => {
  it('uses a complete prefetch Bundle without calling the FHIR server', async () => {
    const gateway = new FakeGateway([media('server-only')]);
    const prefetch = { images: bundle(media('m1'), media('other', { basedOn: [{ reference: 'ServiceRequest/zzz' }] })) };
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch, gateway });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
    assert.deepEqual(gateway.calls, []);
  });

  it('uses the prefetch when there is no FHIR server at all', async () => {
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: bundle(media('m1')) } });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
  });

  it('honours prefetchKey', async () => {
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { dermoscopy: bundle(media('m1')) }, prefetchKey: 'dermoscopy' });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
  });

  it('searches the FHIR server when the prefetch is absent', async () => {
    const gateway = new FakeGateway([media('m1'), media('m2', { basedOn: [{ reference: 'ServiceRequest/zzz' }] })]);
    const images = await gatherReferralImages(referral, { patientId: 'p1', gateway });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
    assert.deepEqual(gateway.calls, ['search Media?based-on=ServiceRequest%2Fref1&_count=50']);
  });

  it('searches the FHIR server when the prefetch is an OperationOutcome', async () => {
    const failed: OperationOutcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] };
    const gateway = new FakeGateway([media('m1')]);
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: failed }, gateway });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
    assert.equal(gateway.calls.length, 1);
  });

  it('searches the FHIR server when the prefetch is null and there is one', async () => {
    const gateway = new FakeGateway([media('m1')]);
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: null }, gateway });
    assert.deepEqual(wheres(images), ['Media/m1.content']);
    assert.equal(gateway.calls.length, 1);
  });

  it('takes a null prefetch at its word (no data) when there is no FHIR server', async () => {
    assert.deepEqual(await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: null } }), []);
  });

  it('uses what a partial prefetch has and completes it from the FHIR server', async () => {
    const partial: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: media('m1') }, { fullUrl: 'https://ehr/fhir/Media/m2' }] };
    const gateway = new FakeGateway([media('m1'), media('m2')]);
    const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: partial }, gateway });
    assert.deepEqual(wheres(images), ['Media/m1.content', 'Media/m2.content']);
    assert.equal(gateway.calls.length, 1);
  });

  it('treats a prefetch with a next link or a larger total as partial', async () => {
    for (const extra of [{ link: [{ relation: 'next', url: 'https://ehr/fhir/Media?page=2' }] }, { total: 51 }]) {
      const gateway = new FakeGateway([media('m2')]);
      const images = await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: { ...bundle(media('m1')), ...extra } }, gateway });
      assert.deepEqual(wheres(images), ['Media/m1.content', 'Media/m2.content']);
    }
  });

  it('uses a partial prefetch as it is when there is no FHIR server', async () => {
    const partial = { resourceType: 'Bundle', entry: [{ resource: media('m1') }, {}] };
    assert.deepEqual(wheres(await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: partial } })), ['Media/m1.content']);
  });

  it('answers 412 when the images are needed and there is neither a usable prefetch nor a FHIR server', async () => {
    await rejects412(gatherReferralImages(referral, { patientId: 'p1' }), 'prefetch.images');
    await rejects412(gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: { resourceType: 'OperationOutcome', issue: [] } } }), 'prefetch.images');
    await rejects412(gatherReferralImages(referral, { patientId: 'p1', prefetch: null }), 'prefetch.images');
  });

  it('reads supportingInfo images missing from the prefetch', async () => {
    const withInfo = { ...referral, supportingInfo: [{ reference: 'Media/s1' }, { reference: 'Observation/o1' }, { reference: 'Media/m1' }] } satisfies ServiceRequest;
    const gateway = new FakeGateway([media('s1', { basedOn: [] })]);
    const images = await gatherReferralImages(withInfo, { patientId: 'p1', prefetch: { images: bundle(media('m1')) }, gateway });
    assert.deepEqual(wheres(images), ['Media/s1.content', 'Media/m1.content']);
    assert.deepEqual(gateway.calls, ['read Media/s1']);
  });

  it('answers 412 for a supportingInfo image missing from the prefetch when there is no FHIR server', async () => {
    const withInfo = { ...referral, supportingInfo: [{ reference: 'Media/s1' }] } satisfies ServiceRequest;
    await rejects412(gatherReferralImages(withInfo, { patientId: 'p1', prefetch: { images: bundle(media('m1')) } }), 'ServiceRequest/ref1.supportingInfo[0]');
  });

  it('names the supportingInfo entry when its read fails', async () => {
    const withInfo = { ...referral, supportingInfo: [{ reference: 'Media/gone' }] } satisfies ServiceRequest;
    await assert.rejects(gatherReferralImages(withInfo, { patientId: 'p1', prefetch: { images: bundle() }, gateway: new FakeGateway([]) }), (err: unknown) => {
      assert.ok(err instanceof OperationOutcomeError);
      assert.equal(getStatus(err.outcome), 422);
      assert.deepEqual(err.outcome.issue[0]?.expression, ['ServiceRequest/ref1.supportingInfo[0]']);
      return true;
    });
  });

  it('refuses a supportingInfo urn it cannot resolve, naming the entry', async () => {
    const withInfo = { ...referral, supportingInfo: [{ reference: 'urn:uuid:9d1c', type: 'Media' }] } satisfies ServiceRequest;
    await assert.rejects(
      gatherReferralImages(withInfo, { patientId: 'p1', prefetch: { images: bundle() }, gateway: new FakeGateway([]) }),
      /urn:uuid:9d1c is not among the resources/,
    );
  });

  it('returns [] for a referral with no images (the caller makes an info card)', async () => {
    const gateway = new FakeGateway([]);
    assert.deepEqual(await gatherReferralImages(referral, { patientId: 'p1', prefetch: { images: bundle() }, gateway }), []);
    assert.deepEqual(await gatherReferralImages(referral, { patientId: 'p1', gateway }), []);
  });

  it('needs nothing for a referral without id and no supportingInfo, even without prefetch or server', async () => {
    const { id: _id, ...noId } = referral;
    assert.deepEqual(await gatherReferralImages(noId, { patientId: 'p1' }), []);
  });

  it("refuses an image that belongs to another patient than the hook's", async () => {
    const gateway = new FakeGateway([media('m1', { subject: { reference: 'Patient/p2' } })]);
    await assert.rejects(gatherReferralImages(referral, { patientId: 'p1', gateway }), (err: unknown) => {
      assert.ok(err instanceof OperationOutcomeError);
      assert.deepEqual(err.outcome.issue[0]?.expression, ['Media/m1.subject']);
      return true;
    });
  });
});
