import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identifier, Observation } from 'fhir/r4';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import type { TriageReport } from '../../src/report/triage-report.ts';
import { analysedResult, failedResult, highImage, image, lowImage, manifest, moderateImage, referral, reportInput, terminology, indeterminateImage, rejectedResult, rules } from './fixtures.ts';

const AIAST = terminology.aiTransparency.securityLabel;
const BCC_SCT = terminology.report.bccLikelyConclusion.code;

function codesOf(o: Observation): string[] {
  return (o.code.coding ?? []).map((c) => c.code ?? '');
}

describe('buildTriageReport: which image decides', () => {
  it('takes the most urgent category, wherever it sits in the referral', () => {
    for (const images of [
      [lowImage(1), moderateImage(2), highImage(3)],
      [highImage(1), lowImage(2), moderateImage(3)],
    ]) {
      const r = buildTriageReport(reportInput(images));
      assert.equal(r.category, 'high');
      assert.equal(r.decidingImage.label, 'Left cheek');
      assert.equal(r.categoryDisplay, 'High priority: first in queue');
      assert.equal(r.bccProbability, r.decidingImage.bccProbability);
    }
  });

  it('moderate beats low', () => {
    const r = buildTriageReport(reportInput([lowImage(1), moderateImage(2)]));
    assert.equal(r.category, 'moderate');
    assert.equal(r.decidingImage.source.reference, 'Media/img-2');
  });

  it('breaks a category tie by the higher BCC probability', () => {
    const a = image(1, analysedResult('a', 0.72), 'A');
    const b = image(2, analysedResult('b', 0.95), 'B');
    const c = image(3, analysedResult('c', 0.8), 'C');
    const r = buildTriageReport(reportInput([a, b, c]));
    assert.equal(r.category, 'high');
    assert.equal(r.decidingImage.label, 'B');
    assert.ok(Math.abs(r.bccProbability - 0.95) < 1e-9);
  });

  it('keeps every image in referral order in imageSummaries', () => {
    const r = buildTriageReport(reportInput([lowImage(1), highImage(2)]));
    assert.deepEqual(
      r.imageSummaries.map((s) => s.index),
      [0, 1],
    );
  });
});

describe('buildTriageReport: failed images', () => {
  const failed = image(2, failedResult('Media/img-2', 'image is unreadable: unsupported image format'), 'Right shoulder');
  const r = buildTriageReport(reportInput([highImage(1), failed]));

  it('makes no Observation and no heatmap for the failed image', () => {
    const fromFailed = [...r.resources.observations, ...r.resources.media].filter((x) => JSON.stringify(x).includes('Media/img-2'));
    assert.deepEqual(fromFailed, []);
  });

  it('names it, with the reason, in the conclusion', () => {
    assert.match(r.resources.report.conclusion ?? '', /Unreadable image "Right shoulder" \(Media\/img-2\): .*unsupported image format/);
    const s = r.imageSummaries[1];
    assert.ok(s && !s.ok);
    assert.match(s.reason, /unsupported image format/);
  });

  it('says when the image gate refused an image, with the gate\'s words, and still reports the others', () => {
    const rejected = image(3, rejectedResult('Media/img-3'), 'Close-up photo');
    const withGate = buildTriageReport(reportInput([highImage(1), rejected]));
    assert.equal(withGate.category, 'high');
    assert.match(withGate.resources.report.conclusion ?? '', /Image "Close-up photo" \(Media\/img-3\) not assessed by the image gate: This does not look like a dermoscopic image/);
    const s = withGate.imageSummaries[1];
    assert.ok(s && !s.ok);
    assert.equal(s.kind, 'rejected');
    assert.equal(JSON.stringify(withGate.resources.observations).includes('Media/img-3'), false, 'no score is recorded for a refused image');
  });

  it('leaves it out of the Provenance inputs (the images read, then the model card)', () => {
    assert.deepEqual(
      r.resources.provenance.entity?.map((e) => e.what.reference),
      ['Media/img-1', `urn:uuid:${r.resources.modelCard.id ?? ''}`],
    );
  });

  it('throws when no image could be read, or there is none', () => {
    assert.throws(() => buildTriageReport(reportInput([failed])), /none of the referral's 1 image\(s\) could be assessed/);
    assert.throws(() => buildTriageReport(reportInput([image(3, rejectedResult('Media/img-3'))])), /could be assessed/);
    assert.throws(() => buildTriageReport(reportInput([])), /no images to assess/);
  });
});

describe('buildTriageReport: a referral without an id (a draft the EHR has not stored yet)', () => {
  /** basedOn of the DiagnosticReport, each Observation and each heatmap Media. */
  function basedOnOf(r: TriageReport): unknown[] {
    return [r.resources.report, ...r.resources.observations, ...r.resources.media].map((x) => x.basedOn);
  }

  it('points at it by its identifier (a logical reference), never by an id it does not have', () => {
    const identifier = [
      { use: 'secondary', value: 'local-7' },
      { use: 'official', system: 'urn:oid:2.16.840.1.113883.19.5', value: 'REF-2026-0042', period: { start: '2026-11-27' } },
    ] satisfies Identifier[];
    const r = buildTriageReport(reportInput([highImage(1), moderateImage(2)], { referral: { ...referral, id: undefined, identifier } }));
    const expected = [{ type: 'ServiceRequest', identifier: { system: 'urn:oid:2.16.840.1.113883.19.5', value: 'REF-2026-0042' } }];
    assert.ok(basedOnOf(r).length > 3);
    for (const b of basedOnOf(r)) {
      assert.deepEqual(b, expected);
    }
  });

  it('leaves basedOn out when it has neither an id nor an identifier with system and value', () => {
    for (const noName of [
      { ...referral, id: undefined },
      { ...referral, id: '' },
      { ...referral, id: 'not/a/fhir/id' },
      { ...referral, id: undefined, identifier: [{ system: 'urn:x' }, { value: 'no-system' }] },
    ]) {
      const r = buildTriageReport(reportInput([highImage(1)], { referral: noName }));
      assert.equal(r.category, 'high');
      for (const b of basedOnOf(r)) {
        assert.equal(b, undefined, JSON.stringify(noName));
      }
      assert.doesNotMatch(JSON.stringify(r.resources), /ServiceRequest\/(undefined)?"/);
    }
  });
});

describe('buildTriageReport: observations', () => {
  const r = buildTriageReport(reportInput([highImage(1), indeterminateImage(2)]));
  const patternSystem = terminology.codeSystems.dermoscopicPattern.url;

  it('never writes an Observation for a pattern the model cannot assess', () => {
    const patternCodes = r.resources.observations.flatMap((o) => (o.code.coding ?? []).filter((c) => c.system === patternSystem).map((c) => c.code));
    assert.ok(patternCodes.length > 0);
    for (const code of patternCodes) {
      assert.ok(['pigment_network', 'arborizing_telangiectasia'].includes(code ?? ''), `unexpected pattern observation ${code}`);
    }
    // One BCC probability + two assessed patterns, per image.
    assert.equal(r.resources.observations.length, 6);
  });

  it('records the BCC probability as a UCUM "1" quantity with the network verdict', () => {
    const bcc = r.resources.observations.filter((o) => codesOf(o).includes('bcc-probability'));
    assert.equal(bcc.length, 2);
    const first = bcc[0];
    assert.equal(first?.valueQuantity?.value, 0.91);
    assert.equal(first.valueQuantity.code, '1');
    assert.equal(first.valueQuantity.system, 'http://unitsofmeasure.org');
    assert.equal(first.interpretation?.[0]?.coding?.[0]?.code, 'POS');
    assert.deepEqual(first.derivedFrom, [{ reference: 'Media/img-1', display: 'Left cheek' }], 'the image, labelled');
    assert.ok((first.note ?? []).some((n) => n.text.includes('operating point')), 'rule trace in note');
  });

  it('records, as data, the triage category of each image and the rule that decided it', () => {
    const [first] = r.resources.observations.filter((o) => codesOf(o).includes('bcc-probability'));
    const category = first?.component?.find((c) => c.code.coding?.some((x) => x.code === 'image-triage-category'))?.valueCodeableConcept;
    assert.equal(category?.coding?.[0]?.system, 'http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category');
    assert.equal(category.coding[0].code, 'high');
    const rule = first?.method?.coding?.[0];
    assert.equal(rule?.system, `http://bcc-cds.org/fhir/rules/${rules.id}`);
    assert.equal(rule.version, rules.version);
    assert.ok(rule.code && rules.triage.some((t) => t.id === rule.code), `rule ${rule.code} is one of the rules file's`);
  });

  it('codes a pattern as present/absent with its probability in a component', () => {
    const pn = r.resources.observations.find((o) => codesOf(o).includes('pigment_network') && o.derivedFrom?.[0]?.reference === 'Media/img-2');
    assert.equal(pn?.valueBoolean, true);
    assert.equal(pn.component?.[0]?.valueQuantity?.value, 0.8);
    const threshold = manifest.patterns.find((p) => p.id === 'pigment_network')?.threshold;
    assert.equal(pn.component[0].referenceRange?.[0]?.low?.value, threshold, 'the threshold, as the low end of the range read as present');
  });

  it('throws, naming the element, on a probability that is not a number', () => {
    const broken = image(1, analysedResult('x', Number.NaN));
    assert.throws(() => buildTriageReport(reportInput([broken])), /images\[0\]\.findings\.bccProbability/);
  });
});

describe('buildTriageReport: AI transparency', () => {
  const r = buildTriageReport(reportInput([highImage(1), lowImage(2)]));

  it('labels every AI-asserted resource AIAST', () => {
    for (const res of [r.resources.report, ...r.resources.observations, ...r.resources.media]) {
      assert.ok(
        res.meta?.security?.some((s) => s.system === AIAST.system && s.code === AIAST.code),
        `${res.resourceType}/${res.id} lacks AIAST`,
      );
    }
  });

  it('names the model as Provenance agent, targets the outputs, gives AIAST as reason', () => {
    const p = r.resources.provenance;
    assert.equal(p.agent[0]?.who.reference, `urn:uuid:${r.resources.device.id}`);
    assert.ok(p.reason?.some((c) => c.coding?.some((k) => k.code === AIAST.code)));
    const targets = new Set(p.target.map((t) => t.reference));
    for (const res of [r.resources.report, ...r.resources.observations, ...r.resources.media]) {
      assert.ok(targets.has(`urn:uuid:${res.id}`), `${res.resourceType} not a Provenance target`);
    }
    assert.equal(p.recorded, '2026-11-27T09:30:00.000Z');
  });

  it('describes the model Device with its sha256 and the IG profile', () => {
    const d = r.resources.device;
    assert.equal(d.identifier?.[0]?.value, manifest.sha256);
    assert.deepEqual(d.version, [{ value: manifest.version }]);
    assert.ok(d.meta?.profile?.includes(terminology.aiTransparency.deviceProfile));
    assert.ok(d.note?.some((n) => n.text.startsWith("Intended use:")));
  });
});

describe('buildTriageReport: DiagnosticReport', () => {
  function conclusionCodes(images: Parameters<typeof reportInput>[0]): string[] {
    const r = buildTriageReport(reportInput(images));
    return (r.resources.report.conclusionCode ?? []).flatMap((c) => (c.coding ?? []).map((k) => k.code ?? ''));
  }

  it('adds SNOMED CT basal cell carcinoma of skin only when the triage is high', () => {
    assert.deepEqual(conclusionCodes([highImage()]), ['high', BCC_SCT]);
    assert.deepEqual(conclusionCodes([moderateImage()]), ['moderate']);
    assert.deepEqual(conclusionCodes([lowImage()]), ['low']);
    assert.deepEqual(conclusionCodes([indeterminateImage()]), ['indeterminate']);
  });

  it('is preliminary, based on the referral, and links every Observation and heatmap', () => {
    const r = buildTriageReport(reportInput([highImage(1), moderateImage(2)]));
    const rep = r.resources.report;
    assert.equal(rep.status, 'preliminary');
    assert.deepEqual(rep.basedOn, [{ reference: 'ServiceRequest/ref-1' }]);
    assert.equal(rep.performer, undefined);
    assert.deepEqual(
      rep.result?.map((x) => x.reference),
      r.resources.observations.map((o) => `urn:uuid:${o.id}`),
    );
    assert.deepEqual(
      rep.media?.map((m) => m.link.reference),
      r.resources.media.map((m) => `urn:uuid:${m.id}`),
    );
    assert.ok(rep.media.every((m) => (m.comment ?? '').includes('heatmap')));
    assert.equal(rep.effectiveDateTime, '2026-11-27T09:30:00.000Z');
  });

  it('writes the conclusion a clinician needs', () => {
    const r = buildTriageReport(reportInput([highImage()]));
    const c = r.resources.report.conclusion ?? '';
    assert.match(c, /not a diagnosis/);
    assert.match(c, /AI triage: High priority: first in queue\. Seen first: /);
    assert.match(c, /About 86 in 100 lesions scored like this were BCC in validation \(95% interval 79 to 91 in 100; 116 of 135 images\); in the development images as a whole, 7 in 100 were BCC\./);
    assert.match(c, /BCC probability 0\.91 \(calibrated\)/);
    assert.doesNotMatch(c, /likely/i);
    assert.match(c, /Dermoscopic criterion: bcc/);
    assert.match(c, /Patterns present: Arborizing telangiectasia/);
    assert.match(c, /Not assessed by this model: Ulceration, Blue-gray ovoid nests/);
    assert.ok(c.includes(`Model: ${manifest.name} ${manifest.version}`), 'names the model and its version');
  });

  it('links the viewer in presentedForm when a viewer is configured', () => {
    const r = buildTriageReport(reportInput([highImage()], { viewerBaseUrl: 'https://viewer.example.org/triage/' }));
    assert.equal(r.viewerUrl, `https://viewer.example.org/triage/${r.resources.report.id}`);
    assert.equal(r.resources.report.presentedForm?.[0]?.url, r.viewerUrl);
    assert.equal(buildTriageReport(reportInput([highImage()])).resources.report.presentedForm, undefined);
  });
});

describe('buildTriageReport: heatmap Media', () => {
  const r = buildTriageReport(reportInput([highImage(1)]));

  it('titles, links and describes each overlay', () => {
    const titles = r.resources.media.map((m) => m.content.title);
    assert.deepEqual(titles, ['BCC heatmap', 'Arborizing telangiectasia heatmap']);
    for (const m of r.resources.media) {
      assert.equal(m.status, 'completed');
      assert.equal(m.content.contentType, 'image/png');
      assert.ok((m.content.data ?? '').length > 0);
      assert.deepEqual(m.extension?.find((e) => e.url === terminology.media.sourceImageExtension)?.valueReference, { reference: 'Media/img-1' });
      assert.match(m.note?.[0]?.text ?? '', /Left cheek/);
      assert.equal(m.width, 4);
    }
  });
});
