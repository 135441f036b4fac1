/**
 * What happens after the card: the clinician's feedback reaches the store joined to the card as
 * issued, and the "save" suggestion, applied by the EHR as one FHIR transaction, leaves a
 * DiagnosticReport on the FHIR server whose Observations and heatmap Media resolve.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, BundleEntry, FhirResource, Media, Observation, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import type { Card } from '../../src/cards/card.ts';
import { INDICATOR_BY_CATEGORY } from '../../src/cards/to-card.ts';
import { TRIAGE_CATEGORIES } from '../../src/rules/rule-set.ts';
import { describeRisk } from '../../src/rules/risk-statement.ts';
import { lesionJpeg } from '../helpers/images.ts';
import type { Harness } from './harness.ts';
import {
  ORDER_SIGN,
  SAVE_LABEL,
  assertOutcome,
  cardsOf,
  create,
  createPatient,
  createdResources,
  dermReferral,
  entryResources,
  expressions,
  fhirRequest,
  hookBody,
  imageMedia,
  imagesPrefetch,
  postHook,
  read,
  resourcesOf,
  search,
  startHarness,
} from './harness.ts';

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h.stop();
});

/** A referral with one image on the FHIR server, triaged through order-sign with the prefetch. */
async function triagedReferral(seed: number): Promise<{ referral: ServiceRequest & { id: string }; hookInstance: string; card: Card }> {
  const patient = await createPatient(h);
  const referral = await create(h, dermReferral(patient.id));
  await create(h, imageMedia(patient.id, referral.id, { title: `Lesion ${seed}`, bytes: await lesionJpeg(400, 300, seed) }));
  const prefetch = { images: await imagesPrefetch(h, patient.id) };
  const body = hookBody(h, { patientId: patient.id, draftOrders: [referral], prefetch });
  const cards = cardsOf(h, await postHook(h, ORDER_SIGN, body));
  assert.equal(cards.length, 1);
  assert.equal(typeof body.hookInstance, 'string');
  return { referral, hookInstance: String(body.hookInstance), card: cards[0]! };
}

/**
 * The card's create actions as the transaction a CDS Hooks 2.0 client builds: "processed as per
 * FHIR's rules for processing transactions with the CDS Client's fhirServer as the base url for the
 * inferred full URL", i.e. fullUrl `<fhirServer>/<Type>/<id>` (src/cards/client-references.ts).
 */
function saveTransaction(card: Card, method: 'POST' | 'PUT'): Bundle {
  const entry: BundleEntry[] = createdResources(card).map((resource: FhirResource) => ({
    fullUrl: `${h.fhirBaseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
    resource,
    request: method === 'POST' ? { method, url: resource.resourceType } : { method, url: `${resource.resourceType}/${resource.id ?? ''}` },
  }));
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

async function applyTransaction(bundle: Bundle): Promise<void> {
  const { status, body } = await fhirRequest<Bundle>(h, 'POST', '', bundle);
  assert.equal(status, 200, `transaction: ${JSON.stringify(body).slice(0, 2000)}`);
  assert.equal(body.type, 'transaction-response');
  assert.equal(body.entry?.length, bundle.entry?.length);
  for (const e of body.entry ?? []) {
    assert.match(e.response?.status ?? '', /^20[01]/, JSON.stringify(e.response));
  }
}

/** The saved report, found as a chart would find it, with every link it holds resolved on the server. */
async function assertReportInChart(card: Card, referralId: string): Promise<void> {
  const offered = resourcesOf(createdResources(card), 'DiagnosticReport')[0];
  assert.ok(offered);
  const found = resourcesOf(entryResources(await search(h, `DiagnosticReport?based-on=ServiceRequest/${referralId}`)), 'DiagnosticReport');
  assert.equal(found.length, 1, 'one report for the referral');
  const report = found[0]!;
  assert.equal(report.status, 'preliminary');
  assert.deepEqual(report.basedOn, [{ reference: `ServiceRequest/${referralId}` }]);
  assert.equal(report.conclusion, offered.conclusion);
  assert.equal(report.result?.length, offered.result?.length);
  assert.equal(report.media?.length, offered.media?.length);
  assert.ok((report.result?.length ?? 0) > 0 && (report.media?.length ?? 0) > 0);

  const savedDevices = new Set<string>();
  for (const ref of report.result ?? []) {
    const obs = await read<Observation>(h, ref.reference ?? '');
    assert.equal(obs.status, 200, `${ref.reference} resolves: ${JSON.stringify(obs.body)}`);
    assert.equal(obs.body.resourceType, 'Observation');
    assert.deepEqual(obs.body.basedOn, [{ reference: `ServiceRequest/${referralId}` }]);
    const device = await read(h, obs.body.device?.reference ?? '');
    assert.equal(device.status, 200, `${ref.reference}.device ${obs.body.device?.reference} resolves`);
    assert.equal(device.body.resourceType, 'Device');
    savedDevices.add(obs.body.device?.reference ?? '');
  }
  assert.equal(savedDevices.size, 1, 'every Observation names the same model Device');
  for (const m of report.media ?? []) {
    const media = await read<Media>(h, m.link.reference ?? '');
    assert.equal(media.status, 200, `${m.link.reference} resolves: ${JSON.stringify(media.body).slice(0, 500)}`);
    assert.equal(media.body.resourceType, 'Media');
    assert.equal(media.body.content.contentType, 'image/png');
    assert.ok((media.body.content.data ?? '').length > 0, 'the heatmap travels with the Media');
  }
  const provenance = resourcesOf(entryResources(await search(h, `Provenance?target=DiagnosticReport/${report.id ?? ''}`)), 'Provenance');
  assert.equal(provenance.length, 1, 'the AI Provenance targets the saved report');
  // Server-assigned ids (POST) differ from the offered ones (PUT keeps them): compare with what was saved.
  assert.equal(provenance[0]?.agent[0]?.who.reference, [...savedDevices][0], 'the Provenance agent is the model Device');
}

describe('after the card', () => {
  it('stores accepted and overridden feedback joined to the issued card, and counts it', async () => {
    const { referral, hookInstance, card } = await triagedReferral(61);
    const save = card.suggestions?.find((s) => s.label === SAVE_LABEL);
    const reason = card.overrideReasons?.[0];
    assert.ok(card.uuid && save?.uuid && reason);
    const now = '2025-01-02T03:04:05Z';

    const res = await request(h.service.app)
      .post(`/cds-services/${ORDER_SIGN}/feedback`)
      .send({
        feedback: [
          { card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: save.uuid }], outcomeTimestamp: now },
          { card: card.uuid, outcome: 'overridden', overrideReason: { reason, userComment: 'Looks like a seborrhoeic keratosis' }, outcomeTimestamp: now },
        ],
      });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { stored: 2 });

    const stored = (await h.service.feedback.listFeedback()).filter((f) => f.card === card.uuid);
    assert.equal(stored.length, 2);
    const m = h.service.model.manifest;
    for (const f of stored) {
      assert.equal(f.serviceId, ORDER_SIGN);
      assert.ok(f.issued, 'joined to the issued card');
      assert.equal(f.issued.uuid, card.uuid);
      assert.equal(f.issued.modelVersion, m.version);
      assert.equal(f.issued.referral, `ServiceRequest/${referral.id}`);
      assert.equal(f.issued.hookInstance, hookInstance);
      const category = TRIAGE_CATEGORIES.find((c) => c === f.issued?.category);
      assert.ok(category, `a triage category: ${f.issued.category}`);
      assert.equal(INDICATOR_BY_CATEGORY[category], card.indicator, 'the stored category is the one the card showed');
      // The stored probability is the one the card told: as its validation band in the summary, as a number in the detail.
      const p = f.issued.bccProbability ?? Number.NaN;
      assert.ok(m.riskBands, 'the shipped manifest has risk bands');
      assert.ok(card.summary.includes(describeRisk(p, m.riskBands).short), card.summary);
      assert.ok((card.detail ?? '').includes(`BCC probability ${p.toFixed(2)} (calibrated)`));
    }
    const accepted = stored.find((f) => f.outcome === 'accepted');
    const overridden = stored.find((f) => f.outcome === 'overridden');
    assert.deepEqual(accepted?.acceptedSuggestions, [save.uuid]);
    assert.equal(overridden?.overrideReasonCode, reason.code);
    assert.equal(overridden.overrideReasonSystem, reason.system);
    assert.equal(overridden.overrideComment, 'Looks like a seborrhoeic keratosis');

    const metrics = await request(h.service.app).get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^bcc_cds_feedback_total\{outcome="accepted"\} 1$/m);
    assert.match(metrics.text, /^bcc_cds_feedback_total\{outcome="overridden"\} 1$/m);
    // By the version that issued the card.
    assert.match(metrics.text, new RegExp(`^bcc_cds_card_outcomes_total\\{outcome="accepted",model_version="${m.version.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
    assert.match(metrics.text, new RegExp(`^bcc_cds_card_outcomes_total\\{outcome="overridden",model_version="${m.version.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
  });

  it('refuses feedback with an unknown outcome, naming the element', async () => {
    const res = await request(h.service.app)
      .post(`/cds-services/${ORDER_SIGN}/feedback`)
      .send({ feedback: [{ card: 'c', outcome: 'ignored', outcomeTimestamp: '2025-01-02T03:04:05Z' }] });
    assert.deepEqual(expressions(assertOutcome(res, 400)), ['feedback.0.outcome']);
  });

  it('saves the report to the chart when the EHR applies the suggestion keeping the offered ids (PUT Type/id)', async () => {
    const { referral, card } = await triagedReferral(62);
    await applyTransaction(saveTransaction(card, 'PUT'));
    await assertReportInChart(card, referral.id);
  });

  it('saves the report to the chart when the EHR applies the suggestion as create entries (POST, absolute fullUrls)', async () => {
    const { referral, card } = await triagedReferral(63);
    await applyTransaction(saveTransaction(card, 'POST'));
    await assertReportInChart(card, referral.id);
  });
});
