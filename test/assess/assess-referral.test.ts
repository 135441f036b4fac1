/**
 * assessReferral decides, once, what became of a referral; the HTTP edge only translates the
 * union into a card. Each kind is reached here with real images, the real model and a prefetch.
 */
import assert from 'node:assert/strict';
import type { Bundle, Media, ServiceRequest } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AssessDeps, ReferralContext } from '../../src/assess/assess-referral.ts';
import { assessReferral } from '../../src/assess/assess-referral.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { IMAGE_FORMATS } from '../../src/imaging/decode.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import { loadTerminology } from '../../src/report/terminology.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import { lesionJpeg, solidJpeg } from '../helpers/images.ts';

const referral: ServiceRequest = { resourceType: 'ServiceRequest', id: 'ref-1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } };

function media(id: string, content: Media['content']): Media {
  return { resourceType: 'Media', id, status: 'completed', basedOn: [{ reference: 'ServiceRequest/ref-1' }], subject: { reference: 'Patient/p1' }, content };
}

function context(images: readonly Media[]): ReferralContext {
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: images.length, entry: images.map((resource) => ({ resource })) };
  return { patientId: 'p1', prefetch: { images: bundle }, now: new Date('2026-12-02T10:00:00Z') };
}

const jpeg = (id: string, bytes: Buffer): Media => media(id, { contentType: 'image/jpeg', data: bytes.toString('base64') });

describe('assessReferral', () => {
  let model: BccModel;
  let deps: AssessDeps;
  before(async () => {
    model = await openModel(DEFAULT_MODEL_MANIFEST);
    const [rules, terminology, gate] = await Promise.all([loadRuleSet(DEFAULT_RULES), loadTerminology(), loadGateConfig(DEFAULT_IMAGE_GATE)]);
    deps = {
      model,
      rules,
      terminology,
      // The test drawings are rightly not dermoscopic to the model's own gate: warn, as the sandbox does.
      gate: withModelChecks(gate, 'warn'),
      limits: { maxBytes: 5_000_000, maxPixels: 40_000_000, formats: IMAGE_FORMATS, maxImagesPerReferral: 2 },
      newId: randomUUID,
    };
  });
  after(async () => {
    await model.close();
  });

  it('no image on the referral: no-images', async () => {
    const a = await assessReferral(deps, referral, context([]));
    assert.equal(a.kind, 'no-images');
    assert.equal(a.images.length, 0);
  });

  it('no image readable: unreadable, each image with its OperationOutcome', async () => {
    const a = await assessReferral(deps, referral, context([jpeg('m1', Buffer.from('not a jpeg at all')), media('m2', { contentType: 'image/jpeg', data: '***' })]));
    assert.equal(a.kind, 'unreadable');
    assert.equal(a.images.length, 2);
    for (const img of a.images) {
      assert.ok(!img.result.ok && !img.result.rejection, 'failed without a gate rejection');
      assert.equal(img.heatmaps.length, 0);
    }
  });

  it('readable but refused by the image gate: not-assessable, with the gate reasons', async () => {
    const a = await assessReferral(deps, referral, context([jpeg('m1', await solidJpeg(640, 480, [128, 128, 128])), jpeg('m2', Buffer.from('broken'))]));
    assert.equal(a.kind, 'not-assessable');
    const [flat, broken] = a.images;
    assert.ok(flat && !flat.result.ok && flat.result.rejection && flat.result.rejection.reasons.length > 0, 'the flat image was refused by the gate');
    assert.ok(broken && !broken.result.ok && !broken.result.rejection, 'the broken one could not be read');
  });

  it('one image scored: assessed, with a report and the bad image degraded alone', async () => {
    const a = await assessReferral(deps, referral, context([jpeg('m1', Buffer.from('broken')), jpeg('m2', await lesionJpeg(640, 480, 3))]));
    assert.equal(a.kind, 'assessed');
    assert.equal(a.images[0]?.result.ok, false);
    assert.equal(a.images[1]?.result.ok, true);
    assert.ok(a.images[1].heatmaps.length > 0, 'the scored image has heatmaps');
    assert.equal(a.report.resources.report.basedOn?.[0]?.reference, 'ServiceRequest/ref-1');
    assert.equal(a.report.resources.report.issued, '2026-12-02T10:00:00.000Z');
    assert.equal(a.report.imageSummaries.length, 2);
    const [pdf] = a.report.resources.report.presentedForm ?? [];
    assert.equal(pdf?.contentType, 'application/pdf', 'the report carries its PDF');
    assert.equal(Buffer.from(pdf.data ?? '', 'base64').subarray(0, 5).toString('latin1'), '%PDF-');
  });

  it('leaves the PDF out when told to', async () => {
    const a = await assessReferral({ ...deps, presentedFormPdf: false }, referral, context([jpeg('m1', await lesionJpeg(640, 480, 3))]));
    assert.equal(a.kind, 'assessed');
    assert.equal(a.report.resources.report.presentedForm, undefined);
  });

  it('takes at most maxImagesPerReferral images', async () => {
    const img = await lesionJpeg(320, 240, 4);
    const a = await assessReferral(deps, referral, context([jpeg('m1', img), jpeg('m2', img), jpeg('m3', img)]));
    assert.equal(a.images.length, 2);
  });

  it('an image stored by URL with no FHIR server to fetch it from: 412 for the whole request', async () => {
    const byUrl = media('m1', { contentType: 'image/jpeg', url: 'Binary/b1' });
    await assert.rejects(
      assessReferral(deps, referral, context([byUrl])),
      (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 412,
    );
  });

  it('past the deadline the model is not asked', async () => {
    const abort = new AbortController();
    abort.abort(new Error('deadline'));
    await assert.rejects(assessReferral(deps, referral, { ...context([jpeg('m1', await lesionJpeg(320, 240, 5))]), signal: abort.signal }), /deadline/);
  });
});
