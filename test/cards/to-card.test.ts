import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FhirResource, ServiceRequest } from 'fhir/r4';
import { INDICATORS } from '../../src/cards/card.ts';
import { CARD_NOTICE } from '../../src/cards/card-detail.ts';
import { checkCard } from '../../src/cards/check-card.ts';
import { toSystemActions } from '../../src/cards/suggestions.ts';
import type { ToCardOptions } from '../../src/cards/to-card.ts';
import { VIEWER_SMART_LINK_LABEL, toCard, writeSummary } from '../../src/cards/to-card.ts';
import { parseViewerAppContext } from '../../src/viewer/viewer-app-context.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import type { ReferralImageOutcome } from '../../src/report/triage-report.ts';
import { analysedResult, counterIds, manifest, failedResult, highImage, image, indeterminateImage, lowImage, moderateImage, rejectedResult, patient, referral, reportInput, terminology } from '../report/fixtures.ts';

function options(extra: Partial<ToCardOptions> = {}): ToCardOptions {
  return {
    referral,
    serviceLabel: 'BCC-CDS dermoscopy triage (research)',
    modelCardUrl: 'https://bcc-cds.org/models/bcc-mtl-mnv2/1.0.0',
    newUuid: counterIds(),
    terminology,
    ...extra,
  };
}

function cardFor(images: readonly ReferralImageOutcome[], extra: Partial<ToCardOptions> = {}): ReturnType<typeof toCard> {
  return toCard(buildTriageReport(reportInput(images)), options(extra));
}

describe('toCard', () => {
  it('maps the triage category to the indicator: high critical, moderate and indeterminate warning, low info', () => {
    assert.equal(cardFor([highImage()]).indicator, 'critical');
    assert.equal(cardFor([moderateImage()]).indicator, 'warning');
    assert.equal(cardFor([indeterminateImage()]).indicator, 'warning');
    assert.equal(cardFor([lowImage()]).indicator, 'info');
  });

  it('summarises the priority and the score as a natural frequency beside the base rate, in fewer than 140 characters', () => {
    for (const imgs of [[highImage()], [moderateImage()], [indeterminateImage()], [lowImage()]]) {
      const c = cardFor(imgs);
      assert.ok(Array.from(c.summary).length < 140, c.summary);
      assert.match(c.summary, /^BCC triage: .+ — (\d+|fewer than 1) in (100|1,000) scored like this were BCC \(\d+ in (100|1,000) overall\) — decision support$/);
    }
    assert.equal(cardFor([highImage()]).summary, 'BCC triage: High priority: first in queue — 86 in 100 scored like this were BCC (7 in 100 overall) — decision support');
  });

  it('summarises with the probability when the model has no risk bands', () => {
    assert.equal(writeSummary('High priority: first in queue', 0.91), 'BCC triage: High priority: first in queue (p=0.91) — decision support');
  });

  it('shortens a long category wording, never the number', () => {
    const s = writeSummary('A very long category display that a hospital wrote into its rule file '.repeat(3), 0.456);
    assert.ok(Array.from(s).length < 140);
    assert.match(s, /… \(p=0\.46\) — decision support$/);
    const f = writeSummary('A very long category display '.repeat(5), 0.001, { short: 'fewer than 1 in 1,000 scored like this were BCC (70 in 1,000 overall)' });
    assert.ok(Array.from(f).length < 140, f);
    assert.match(f, /… — fewer than 1 in 1,000 scored like this were BCC \(70 in 1,000 overall\) — decision support$/);
  });

  it('says in the detail what the priority means and what the score meant in validation', () => {
    const d = cardFor([highImage()]).detail ?? '';
    assert.match(d, /^\*\*High priority: first in queue\.\*\* Seen first: the score is at or above the high-specificity operating point/);
    assert.match(d, /\*\*What the score means:\*\* About 86 in 100 lesions scored like this were BCC in validation \(95% interval 79 to 91 in 100; 116 of 135 images\); in the development images as a whole, 7 in 100 were BCC\./);
    assert.match(d, /BCC probability 0\.91 \(calibrated\)/);
  });

  it('passes its own checker for every category, and for status cards', () => {
    for (const imgs of [[highImage()], [moderateImage()], [lowImage(), image(2, failedResult('Media/img-2'))]]) {
      assert.deepEqual(checkCard(cardFor(imgs)), []);
    }
    assert.ok(INDICATORS.includes(cardFor([highImage()]).indicator));
  });

  it('offers "Mark referral urgent" only for high, as an update of the whole referral', () => {
    const high = cardFor([highImage()]);
    const urgent = high.suggestions?.find((s) => s.label === 'Mark referral urgent');
    const action = urgent?.actions?.[0];
    assert.equal(action?.type, 'update');
    assert.equal(action.resource?.resourceType, 'ServiceRequest');
    assert.deepEqual(action.resource, { ...referral, priority: 'urgent' });
    for (const imgs of [[moderateImage()], [lowImage()]]) {
      assert.equal(cardFor(imgs).suggestions?.find((s) => s.label === 'Mark referral urgent'), undefined);
    }
  });

  it('never offers "urgent" for a referral already urgent or higher (it would lower stat)', () => {
    const stat = { ...referral, priority: 'stat' } satisfies ServiceRequest;
    const c = cardFor([highImage()], { referral: stat });
    assert.equal(c.suggestions?.find((s) => s.label === 'Mark referral urgent'), undefined);
  });

  it('offers to save every resource as create actions whose references the client can resolve', () => {
    const c = cardFor([highImage(1), moderateImage(2)]);
    assert.equal(c.selectionBehavior, 'any');
    const save = c.suggestions?.find((s) => s.label === 'Save AI triage report to the chart');
    const actions = save?.actions ?? [];
    const created = actions.map((a) => a.resource).filter((r): r is FhirResource => r !== undefined);
    assert.equal(created.length, actions.length);
    assert.deepEqual(
      [...new Set(created.map((r) => r.resourceType))].sort(),
      ['Device', 'DiagnosticReport', 'DocumentReference', 'Media', 'Observation', 'Provenance'],
    );
    assert.ok(actions.every((a) => a.type === 'create' && a.description.length > 0));
    // CDS Hooks infers fullUrl <fhirServer>/Type/id: references must be Type/id of another action's resource.
    const ids = new Set(created.map((r) => `${r.resourceType}/${r.id}`));
    const external = new Set(['ServiceRequest/ref-1', patient.reference, 'Media/img-1', 'Media/img-2']);
    const refs = JSON.stringify(created).match(/"reference":"[^"]+"/g) ?? [];
    const dangling = refs.map((m) => m.slice(13, -1)).filter((ref) => !ids.has(ref) && !external.has(ref));
    assert.deepEqual(dangling, []);
    assert.ok(!JSON.stringify(created).includes('urn:uuid:'));
  });

  it('leaves the report itself untouched when it relinks references for the card', () => {
    const report = buildTriageReport(reportInput([highImage()]));
    toCard(report, options());
    assert.match(report.resources.report.result?.[0]?.reference ?? '', /^urn:uuid:/);
  });

  it('moves the save actions to systemActions on request', () => {
    const report = buildTriageReport(reportInput([lowImage()]));
    const c = toCard(report, options({ systemActions: true }));
    assert.equal(c.suggestions, undefined);
    assert.equal(c.selectionBehavior, undefined);
    // The report, Observations, Media, the Device, its model card and the Provenance.
    assert.equal(toSystemActions(report).length, 1 + report.resources.observations.length + report.resources.media.length + 3);
  });

  it('has uuid, source with the model card and topic, override reasons with displays, and the viewer link', () => {
    const c = cardFor([highImage()], { viewerUrl: 'https://viewer.example.org/r/1' });
    assert.match(c.uuid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(c.source.url, 'https://bcc-cds.org/models/bcc-mtl-mnv2/1.0.0');
    assert.equal(c.source.topic?.code, terminology.cards.topic.code);
    assert.deepEqual(
      c.overrideReasons?.map((o) => o.code),
      ['disagree-clinical-judgement', 'image-quality', 'not-a-skin-lesion-image', 'already-triaged'],
    );
    assert.ok(c.overrideReasons.every((o) => (o.display ?? '').length > 0));
    assert.deepEqual(c.links, [{ label: 'Open the images and heatmaps in the BCC triage viewer', url: 'https://viewer.example.org/r/1', type: 'absolute' }]);
    assert.equal(cardFor([highImage()]).links, undefined);
  });

  it('carries a smart link to the viewer launch URL whose appContext names the report and the DiagnosticReport the save suggestion creates', () => {
    const report = buildTriageReport(reportInput([highImage()]));
    const c = toCard(report, options({ viewerLaunchUrl: 'https://bcc-cds.example.org/viewer/launch', viewerUrl: 'https://viewer.example.org/r/1' }));
    const id = report.resources.report.id ?? '';
    assert.deepEqual(c.links?.[0], {
      label: VIEWER_SMART_LINK_LABEL,
      url: 'https://bcc-cds.example.org/viewer/launch',
      type: 'smart',
      appContext: JSON.stringify({ reportId: id, diagnosticReport: `DiagnosticReport/${id}` }),
    });
    assert.equal(c.links[1]?.type, 'absolute');
    assert.deepEqual(checkCard(c), []);
    const saved = c.suggestions?.[0]?.actions?.find((a) => a.resource?.resourceType === 'DiagnosticReport');
    assert.equal(`DiagnosticReport/${saved?.resource?.id ?? ''}`, parseViewerAppContext(c.links[0].appContext).diagnosticReport);
  });
});

describe('card detail', () => {
  const c = cardFor([highImage(1), image(2, failedResult('Media/img-2', 'image is empty'), 'Scalp'), moderateImage(3)]);
  const d = c.detail ?? '';

  it('carries the decision-support sentence and the model', () => {
    assert.ok(d.includes(CARD_NOTICE));
    assert.ok(d.includes(`**Model:** ${manifest.name} ${manifest.version} ([model card](https://bcc-cds.org/models/bcc-mtl-mnv2/1.0.0))`), 'model line with version and card link');
    assert.match(d, /\*\*Assesses:\*\* Pigment network, Arborizing telangiectasia/);
    assert.match(d, /\*\*Does not assess:\*\* Ulceration/);
    assert.match(d, /\*\*Image checks:\*\* The model also checks whether the image is dermoscopic and whether it resembles the training images\./);
  });

  it('lists per image the patterns present, absent and not assessed, with probabilities', () => {
    assert.match(d, /#### Image 1: Left cheek \(sets the priority\)/);
    assert.match(d, /\*\*Patterns present:\*\* Arborizing telangiectasia \(0\.60\)/);
    assert.match(d, /\*\*Patterns absent:\*\* Pigment network \(0\.00\)/);
    assert.match(d, /\*\*Not assessed by this model:\*\* Ulceration, Blue-gray ovoid nests/);
    assert.match(d, /\*\*Heatmaps:\*\* Basal cell carcinoma, Arborizing telangiectasia/);
    assert.match(d, /\*\*Why:\*\*\n {2}1\. The network's BCC probability is 0\.910 \(at or above the balanced operating point/);
  });

  it('says which image the gate refused and why, and asks for a dermoscopic photo', () => {
    const detail = cardFor([highImage(1), image(2, rejectedResult('Media/img-2'), 'Close-up')]).detail ?? '';
    assert.match(detail, /#### Image 2: Close-up \(not assessed\)\n\nThe model did not score this image: This does not look like a dermoscopic image/);
    assert.match(detail, /Please attach a sharp, evenly lit dermoscopic photo/);
  });

  it('shows an indeterminate triage as such, with the disagreement in the trace', () => {
    const c = cardFor([indeterminateImage()]);
    assert.match(c.summary, /^BCC triage: Indeterminate: dermatologist review — 49 in 100 scored like this were BCC/);
    assert.match(c.detail ?? '', /rule `network-criterion-conflict`/);
    assert.match(c.detail ?? '', /disagree/);
  });

  it('names the unreadable image and why', () => {
    assert.match(d, /#### Image 2: Scalp \(unreadable\)\n\nThe model could not read this image: .*image is empty/);
  });

  it('escapes referral free text so a label cannot inject a link', () => {
    const evil = image(1, analysedResult('e', 0.9), '[click](https://evil.example) <img src=x>');
    const detail = cardFor([evil]).detail ?? '';
    assert.ok(!detail.includes('[click](https://evil.example)'));
    assert.doesNotMatch(detail, /(^|[^\\])<img/);
    assert.ok(detail.includes('\\[click\\]'));
  });
});
