/**
 * order-sign and order-select end to end: the EHR's FHIR server is a separate process, the service
 * is wired by createService with the shipped model, and every call goes over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Binary, Media, Reference, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import type { Card } from '../../src/cards/card.ts';
import { isGateReasonCode } from '../../src/gate/gate-reasons.ts';
import { lesionJpeg, noiseJpeg } from '../helpers/images.ts';
import type { Harness } from './harness.ts';
import {
  callHook,
  cardiologyReferral,
  cardsOf,
  create,
  createPatient,
  createdResources,
  dermReferral,
  imageHeadings,
  imageMedia,
  imagesPrefetch,
  resourcesOf,
  startHarness,
} from './harness.ts';

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h.stop();
});

/** A patient, a dermatology referral stored on the FHIR server, and one Media per image basedOn it. */
async function referralWithImages(titles: readonly string[], seed = 1): Promise<{ patientId: string; referral: ServiceRequest & { id: string }; media: (Media & { id: string })[] }> {
  const patient = await createPatient(h);
  const referral = await create(h, dermReferral(patient.id));
  const media = [];
  for (const [k, title] of titles.entries()) {
    media.push(await create(h, imageMedia(patient.id, referral.id, { title, bytes: await lesionJpeg(400, 300, seed + k) })));
  }
  return { patientId: patient.id, referral, media };
}

/** The triage report the card offers to save, with its Observations and heatmap Media. */
function savedReport(card: Card): { basedOn: string[]; results: string[]; mediaLinks: string[]; observationIds: string[]; heatmapIds: string[]; derivedFrom: string[] } {
  const created = createdResources(card);
  const reports = resourcesOf(created, 'DiagnosticReport');
  assert.equal(reports.length, 1, 'one DiagnosticReport per card');
  const report = reports[0]!;
  const observations = resourcesOf(created, 'Observation');
  return {
    basedOn: (report.basedOn ?? []).map((r) => r.reference ?? ''),
    results: (report.result ?? []).map((r) => r.reference ?? ''),
    mediaLinks: (report.media ?? []).map((m) => m.link.reference ?? ''),
    observationIds: observations.map((o) => `Observation/${o.id ?? ''}`),
    heatmapIds: resourcesOf(created, 'Media').map((m) => `Media/${m.id ?? ''}`),
    derivedFrom: [...new Set(observations.flatMap((o) => (o.derivedFrom ?? []).map((d) => d.reference ?? '')))].sort(),
  };
}

describe('triage hooks against a FHIR server process', () => {
  it('analyses an inline image from the prefetch, with no fhirServer to call', async () => {
    const { patientId, referral, media } = await referralWithImages(['Left cheek, prefetched']);
    const prefetch = { images: await imagesPrefetch(h, patientId) };
    assert.equal(prefetch.images.entry?.length, 1, 'the prefetch Bundle holds the Media');

    const cards = cardsOf(h, await callHook(h, { patientId, draftOrders: [referral], prefetch }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.deepEqual(imageHeadings(card), ['#### Image 1: Left cheek, prefetched (sets the priority)']);
    assert.match(card.detail ?? '', /\*\*BCC probability:\*\* [01]\.\d{3}/);
    const saved = savedReport(card);
    assert.deepEqual(saved.basedOn, [`ServiceRequest/${referral.id}`]);
    assert.deepEqual(saved.derivedFrom, [`Media/${media[0]!.id}`]);
  });

  it('searches the FHIR server for the images when there is no prefetch', async () => {
    const { patientId, referral, media } = await referralWithImages(['Nose, only on the server'], 7);

    const cards = cardsOf(h, await callHook(h, { patientId, draftOrders: [referral], fhirServer: h.fhirBaseUrl }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.deepEqual(imageHeadings(card), ['#### Image 1: Nose, only on the server (sets the priority)']);
    assert.deepEqual(savedReport(card).derivedFrom, [`Media/${media[0]!.id}`]);
    assert.ok(
      h.logs.some((l) => l.includes('"hook answered"') && l.includes('"images":1') && l.includes('"unreadable":0')),
      'the service logged the hook with the image it found',
    );
  });

  it('fetches a Media whose content.url names a Binary on the FHIR server', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    const binary = await create<Binary>(h, { resourceType: 'Binary', contentType: 'image/jpeg', data: (await lesionJpeg(400, 300, 11)).toString('base64') });
    const media = await create(h, imageMedia(patient.id, referral.id, { title: 'Scalp, stored as Binary', url: `Binary/${binary.id}` }));
    assert.equal(media.content.data, undefined, 'the Media carries no inline bytes');

    const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], fhirServer: h.fhirBaseUrl }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.deepEqual(imageHeadings(card), ['#### Image 1: Scalp, stored as Binary (sets the priority)']);
    assert.doesNotMatch(card.detail ?? '', /unreadable/);
    assert.deepEqual(savedReport(card).derivedFrom, [`Media/${media.id}`]);
  });

  it('answers one card per dermatology referral, each with its own images, and none for other orders', async () => {
    const patient = await createPatient(h);
    const a = await create(h, dermReferral(patient.id, { reasonCode: [{ text: 'Two lesions on the back' }] }));
    // Matches on performerType only: a code outside the value set must not hide it.
    const b = await create(h, dermReferral(patient.id, { code: { text: 'Skin check' } }));
    const cardiology = await create(h, cardiologyReferral(patient.id));
    const mediaA = [
      await create(h, imageMedia(patient.id, a.id, { title: 'Back, upper', bytes: await lesionJpeg(400, 300, 21) })),
      await create(h, imageMedia(patient.id, a.id, { title: 'Back, lower', bytes: await lesionJpeg(400, 300, 22) })),
    ];
    const mediaB = [await create(h, imageMedia(patient.id, b.id, { title: 'Forearm', bytes: await lesionJpeg(400, 300, 23) }))];
    const prefetch = { images: await imagesPrefetch(h, patient.id) };
    assert.equal(prefetch.images.entry?.length, 3);

    const res = await callHook(h, { patientId: patient.id, draftOrders: [a, cardiology, b], prefetch, fhirServer: h.fhirBaseUrl });
    const cards = cardsOf(h, res);
    assert.equal(cards.length, 2, 'one card per dermatology referral, none for cardiology');
    const byReferral = new Map(cards.map((c) => [savedReport(c).basedOn.join(), c] as const));
    const cardA = byReferral.get(`ServiceRequest/${a.id}`);
    const cardB = byReferral.get(`ServiceRequest/${b.id}`);
    assert.ok(cardA && cardB, `a card for each referral: ${[...byReferral.keys()].join('; ')}`);
    assert.ok(!byReferral.has(`ServiceRequest/${cardiology.id}`));

    for (const [card, media, titles] of [
      [cardA, mediaA, ['Back, upper', 'Back, lower']],
      [cardB, mediaB, ['Forearm']],
    ] as const) {
      const headings = imageHeadings(card);
      assert.equal(headings.length, titles.length, `image sections: ${headings.join('; ')}`);
      titles.forEach((t, k) => { assert.ok(headings[k]?.startsWith(`#### Image ${k + 1}: ${t}`), `${headings[k]} is ${t}`); });
      const saved = savedReport(card);
      assert.deepEqual(saved.derivedFrom, media.map((m) => `Media/${m.id}`).sort(), 'the Observations come from this referral\'s images only');
      assert.deepEqual([...saved.results].sort(), [...saved.observationIds].sort(), 'DiagnosticReport.result lists every Observation of the card');
      assert.deepEqual([...saved.mediaLinks].sort(), [...saved.heatmapIds].sort(), 'DiagnosticReport.media lists every heatmap Media of the card');
      assert.ok(saved.results.length >= titles.length, 'at least one Observation per image');
      assert.ok(saved.mediaLinks.length >= titles.length, 'at least one heatmap per image');
    }
  });

  it('says so in one info card when the referral has no images', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    const prefetch = { images: await imagesPrefetch(h, patient.id) };
    assert.equal(prefetch.images.entry?.length ?? 0, 0);

    const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], prefetch }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.equal(card.indicator, 'info');
    assert.match(card.summary, /no dermoscopic images/);
    assert.ok(card.detail?.includes(`ServiceRequest/${referral.id}`));
    assert.equal(card.suggestions, undefined, 'nothing to save');
  });

  it('answers { cards: [] } when the only order is not a dermatology referral', async () => {
    const patient = await createPatient(h);
    const cardiology = await create(h, cardiologyReferral(patient.id));
    // No prefetch and no fhirServer: nothing is needed, so this is not a 412.
    const res = await callHook(h, { patientId: patient.id, draftOrders: [cardiology] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { cards: [] });
  });

  it('degrades one unreadable image, never the hook: the good image is analysed beside it', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    const good = await lesionJpeg(400, 300, 31);
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const goodMedia = await create(h, imageMedia(patient.id, referral.id, { title: 'Temple, sharp', bytes: good }));
    await create(h, imageMedia(patient.id, referral.id, { title: 'Temple, cut off', bytes: truncated }));
    const prefetch = { images: await imagesPrefetch(h, patient.id) };

    const before = await metricValue('bcc_cds_images_total{status="unreadable"}');
    const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], prefetch }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    const headings = imageHeadings(card);
    assert.equal(headings.length, 2, headings.join('; '));
    assert.ok(headings.includes('#### Image 1: Temple, sharp (sets the priority)'), headings.join('; '));
    assert.ok(headings.includes('#### Image 2: Temple, cut off (unreadable)'), headings.join('; '));
    assert.match(card.detail ?? '', /The model could not read this image: .+/);
    assert.deepEqual(savedReport(card).derivedFrom, [`Media/${goodMedia.id}`], 'only the readable image produced Observations');
    assert.equal(await metricValue('bcc_cds_images_total{status="unreadable"}'), before + 1);
  });

  it('warns, naming the image and why, when no image of the referral can be read', async () => {
    const patient = await createPatient(h);
    const referral = await create(h, dermReferral(patient.id));
    const good = await lesionJpeg(400, 300, 35);
    await create(h, imageMedia(patient.id, referral.id, { title: 'Shin, cut off', bytes: good.subarray(0, Math.floor(good.length / 3)) }));
    const prefetch = { images: await imagesPrefetch(h, patient.id) };

    const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], prefetch }));
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.equal(card.indicator, 'warning');
    assert.match(card.summary, /none of the 1 referral image\(s\) could be read/);
    assert.match(card.detail ?? '', /- Image 1, Shin, cut off: .+/);
    assert.equal(card.suggestions, undefined, 'nothing to save');
  });

  it('a draft referral without an id: the report is basedOn its identifier, or on nothing, never on an invented ServiceRequest id', async () => {
    const patient = await createPatient(h);
    // The draft is not stored yet, so the image names no referral; the referral lists it in supportingInfo.
    const { basedOn: _none, ...unlinked } = imageMedia(patient.id, 'unused', { title: 'Temple, draft referral', bytes: await lesionJpeg(400, 300, 51) });
    const media = await create(h, unlinked);
    const identifier = { system: 'urn:oid:2.16.840.1.113883.19.5', value: `REF-${media.id}` };
    const cases: [Partial<ServiceRequest>, Reference[] | undefined][] = [
      [{ identifier: [identifier] }, [{ type: 'ServiceRequest', identifier }]],
      [{}, undefined],
    ];
    for (const [extra, expected] of cases) {
      const referral = dermReferral(patient.id, { ...extra, supportingInfo: [{ reference: `Media/${media.id}` }] });
      assert.equal(referral.id, undefined);
      const cards = cardsOf(h, await callHook(h, { patientId: patient.id, draftOrders: [referral], fhirServer: h.fhirBaseUrl }));
      assert.equal(cards.length, 1);
      const created = createdResources(cards[0]!);
      const linked = [...resourcesOf(created, 'DiagnosticReport'), ...resourcesOf(created, 'Observation'), ...resourcesOf(created, 'Media')];
      assert.ok(linked.length >= 3, 'a report, its Observations and a heatmap');
      for (const r of linked) {
        assert.deepEqual(r.basedOn, expected, `${r.resourceType}.basedOn`);
      }
      assert.doesNotMatch(JSON.stringify(created), /"ServiceRequest\//, 'no reference to a ServiceRequest id');
    }
  });

  it('order-select triages only the selected referral', async () => {
    const patient = await createPatient(h);
    const first = await create(h, dermReferral(patient.id));
    const second = await create(h, dermReferral(patient.id));
    await create(h, imageMedia(patient.id, first.id, { title: 'Ear, not selected', bytes: await lesionJpeg(400, 300, 41) }));
    await create(h, imageMedia(patient.id, second.id, { title: 'Chin, selected', bytes: await lesionJpeg(400, 300, 42) }));
    const prefetch = { images: await imagesPrefetch(h, patient.id) };

    const cards = cardsOf(
      h,
      await callHook(h, { hook: 'order-select', patientId: patient.id, draftOrders: [first, second], selections: [`ServiceRequest/${second.id}`], prefetch }),
    );
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.deepEqual(savedReport(card).basedOn, [`ServiceRequest/${second.id}`]);
    assert.deepEqual(imageHeadings(card), ['#### Image 1: Chin, selected (sets the priority)']);

    // The same orders without selections: both referrals, so the selection is what narrowed it.
    const all = cardsOf(h, await callHook(h, { hook: 'order-select', patientId: patient.id, draftOrders: [first, second], prefetch }));
    assert.equal(all.length, 2);
  });
});

/** A counter's current value from GET /metrics (0 when the series does not exist yet). */
async function metricValue(series: string): Promise<number> {
  const res = await request(h.service.app).get('/metrics');
  assert.equal(res.status, 200);
  const line = res.text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('the image gate as production runs it', () => {
  let p: Harness;
  before(async () => {
    p = await startHarness({ modelChecks: 'reject' });
  });
  after(async () => {
    await p.stop();
  });

  it('refuses images the model calls not dermoscopic or out of distribution: an info card, no probability, no report', async () => {
    const patient = await createPatient(p);
    const referral = await create(p, dermReferral(patient.id));
    // A synthetic drawing and a noise image: neither is a dermoscopic photograph.
    await create(p, imageMedia(patient.id, referral.id, { title: 'Drawing', bytes: await lesionJpeg(400, 300, 61) }));
    await create(p, imageMedia(patient.id, referral.id, { title: 'Noise', bytes: await noiseJpeg(400, 300, 62) }));
    const prefetch = { images: await imagesPrefetch(p, patient.id) };
    const res = await callHook(p, { patientId: patient.id, draftOrders: [referral], prefetch });
    const cards = cardsOf(p, res);
    assert.equal(cards.length, 1);
    const card = cards[0]!;
    assert.equal(card.indicator, 'info');
    assert.match(card.summary, /cannot be judged — please send a dermoscopic photo/);
    assert.match(card.detail ?? '', /Image 1, Drawing: not assessed: .*(dermoscopic|unlike the images)/);
    assert.match(card.detail ?? '', /Image 2, Noise: not assessed: /);
    assert.doesNotMatch(`${card.summary}\n${card.detail ?? ''}`, /probability|p=0/i, 'never a BCC probability');
    assert.equal(card.suggestions, undefined, 'nothing to save');
    const metrics = await request(p.service.app).get('/metrics');
    assert.match(metrics.text, /bcc_cds_images_total\{status="rejected"\} 2/);
    // Each refusal by its stage and reason; together at least one reason per refused image.
    const refusals = [...metrics.text.matchAll(/^bcc_cds_gate_refusals_total\{stage="(quality|model)",reason="([a-z-]+)"\} (\d+)$/gm)];
    assert.ok(refusals.every((m) => isGateReasonCode(m[2] ?? '')), metrics.text);
    assert.ok(refusals.reduce((n, m) => n + Number(m[3]), 0) >= 2, 'a reason for each refused image');
    // Scrape-time gauges: nothing running now, and the worker has been busy.
    assert.match(metrics.text, /^bcc_cds_hooks_in_flight 0$/m);
    assert.match(metrics.text, /^bcc_cds_hooks_queued 0$/m);
    assert.match(metrics.text, /^bcc_cds_inference_queued 0$/m);
    const busy = /^bcc_cds_inference_busy_seconds_total (\S+)$/m.exec(metrics.text);
    assert.ok(busy && Number(busy[1]) > 0, 'inference busy time counted');
  });
});
