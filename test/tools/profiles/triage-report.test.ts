import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FhirResource } from 'fhir/r4';
import { toSystemActions } from '../../../src/cards/suggestions.ts';
import { toCard } from '../../../src/cards/to-card.ts';
import { buildTriageReport } from '../../../src/report/build-triage-report.ts';
import { reportResources, toTransactionBundle } from '../../../src/report/transaction-bundle.ts';
import type { ReferralImageOutcome } from '../../../src/report/triage-report.ts';
import { analysedResult, counterIds, failedResult, highImage, image, lowImage, moderateImage, referral, reportInput, terminology } from '../../report/fixtures.ts';
import { assertValid, validator } from './helpers.ts';

/** Reports of every category, with a body site, a failed image and several patterns present. */
const SCENARIOS: readonly (readonly [string, readonly ReferralImageOutcome[]])[] = [
  ['high (telangiectasia present)', [highImage(1)]],
  ['moderate (pigment network present)', [moderateImage(1)]],
  ['low', [lowImage(1)]],
  ['three images, one failed', [lowImage(1), image(2, failedResult('Media/img-2')), highImage(3)]],
  ['body site known', [{ ...image(1, analysedResult('Media/img-1', 0.6, { arborizing_telangiectasia: 0.9, pigment_network: 0.1 })), bodySite: { text: 'Nose' } }]],
  ['probability at the edges', [image(1, analysedResult('Media/img-1', 1, { pigment_network: 1 })), image(2, analysedResult('Media/img-2', 0))]],
];

function label(r: FhirResource): string {
  return `${r.resourceType}/${r.id ?? '?'} (${r.meta?.profile?.[0] ?? 'no profile'})`;
}

describe('every resource buildTriageReport emits conforms to its profile', () => {
  for (const [name, images] of SCENARIOS) {
    it(name, () => {
      const report = buildTriageReport(reportInput(images, { viewerBaseUrl: 'https://viewer.example.org/bcc' }));
      for (const r of reportResources(report)) {
        assertValid(validator.validateResource(r, { requireProfile: true }), label(r));
      }
      assertValid(validator.validateBundle(toTransactionBundle(report)), `${name}: transaction Bundle`);
    });
  }

  it('a draft referral without an id: basedOn by identifier, or none', () => {
    for (const identifier of [[{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'REF-2026-0042' }], undefined]) {
      const report = buildTriageReport(reportInput([highImage(1), lowImage(2)], { referral: { ...referral, id: undefined, ...(identifier ? { identifier } : {}) } }));
      for (const r of reportResources(report)) {
        assertValid(validator.validateResource(r, { requireProfile: true }), label(r));
      }
      assertValid(validator.validateBundle(toTransactionBundle(report)), 'transaction Bundle');
    }
  });

  it('claims one profile per resource kind, as codes.json names them', () => {
    const report = buildTriageReport(reportInput([highImage(1), moderateImage(2)]));
    const p = terminology.profiles;
    const r = report.resources;
    assert.ok(r.report.meta?.profile?.includes(p.triageReport));
    assert.ok(r.device.meta?.profile?.includes(p.aiModelDevice));
    assert.ok(r.provenance.meta?.profile?.includes(p.aiProvenance));
    assert.ok(r.media.every((m) => m.meta?.profile?.includes(p.heatmapMedia)));
    assert.ok(r.observations.every((o) => o.meta?.profile?.includes(p.bccProbability) || o.meta?.profile?.includes(p.dermoscopicPattern)));
  });
});

describe('the resources a card carries conform too', () => {
  const report = buildTriageReport(reportInput([highImage(1), lowImage(2)]));
  const card = toCard(report, {
    referral,
    serviceLabel: 'BCC-CDS dermoscopy triage (research)',
    modelCardUrl: 'https://bcc-cds.org/models/bcc-mtl-mnv2',
    newUuid: counterIds(),
    terminology,
  });

  it('create and update actions (references rewritten to Type/id)', () => {
    const actions = (card.suggestions ?? []).flatMap((s) => s.actions ?? []);
    assert.ok(actions.length > 0);
    for (const a of actions) {
      assert.ok(a.resource, a.description);
      // The referral update is the EHR's own ServiceRequest: R4 only, no profile of ours.
      assertValid(validator.validateResource(a.resource, { requireProfile: a.type === 'create' }), `${a.type} ${a.description}`);
    }
  });

  it('systemActions', () => {
    for (const a of toSystemActions(report)) {
      assertValid(validator.validateResource(a.resource, { requireProfile: true }), a.description ?? a.type);
    }
  });
});
