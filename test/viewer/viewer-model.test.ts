import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiagnosticReport, Media, Observation } from 'fhir/r4';
import { toClientReferences } from '../../src/cards/client-references.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import type { TriageReport } from '../../src/report/triage-report.ts';
import { viewerModelFromFhir } from '../../src/viewer/viewer-model-fhir.ts';
import { VIEWER_DISCLAIMER, viewerModelFromReport } from '../../src/viewer/viewer-model.ts';
import { failedResult, highImage, image, lowImage, manifest, reportInput, terminology } from '../report/fixtures.ts';

/** What a client that applied the save suggestion holds: the resources with `Type/id` references. */
function saved(report: TriageReport): { report: DiagnosticReport; observations: Observation[]; media: Media[] } {
  const r = report.resources;
  return {
    report: toClientReferences(r.report, report.fullUrls),
    observations: r.observations.map((o) => toClientReferences(o, report.fullUrls)),
    media: r.media.map((m) => toClientReferences(m, report.fullUrls)),
  };
}

describe('viewer model', () => {
  const report = buildTriageReport(reportInput([highImage(1), image(2, failedResult('Media/img-2'), 'Blurred'), lowImage(3)]));

  it('from memory: every image in referral order, failed ones with the reason, every pattern with its status', () => {
    const m = viewerModelFromReport(report);
    assert.equal(m.origin, 'memory');
    assert.equal(m.disclaimer, VIEWER_DISCLAIMER);
    assert.equal(m.reportId, report.resources.report.id);
    assert.deepEqual(
      m.images.map((i) => [i.label, i.ok, i.deciding ?? false]),
      [
        ['Left cheek', true, true],
        ['Blurred', false, false],
        ['Forearm', true, false],
      ],
    );
    assert.match(m.images[1]?.reason ?? '', /unsupported image format/);
    const first = m.images[0];
    assert.equal(first?.patterns.length, manifest.patterns.length);
    assert.ok(first.patterns.some((p) => p.status === 'not-assessed' && p.probability === undefined));
    assert.deepEqual(
      first.overlays.map((o) => o.output),
      ['bcc', 'arborizing_telangiectasia'],
    );
    assert.ok(first.overlays.every((o) => o.png.startsWith('data:image/png;base64,') && o.width === 4 && o.height === 3));
  });

  it('from the FHIR server: the same images, probabilities, overlays and trace, read back from the saved resources', () => {
    const memory = viewerModelFromReport(report);
    const fhir = viewerModelFromFhir(saved(report), { terminology, manifest });
    assert.equal(fhir.origin, 'fhir');
    assert.equal(fhir.category, 'high');
    assert.equal(fhir.categoryDisplay, memory.categoryDisplay);
    assert.equal(fhir.bccProbability, Number(memory.bccProbability?.toFixed(4)));
    assert.deepEqual(fhir.rules, memory.rules);
    const analysed = memory.images.filter((i) => i.ok);
    assert.equal(fhir.images.length, analysed.length, 'FHIR holds no record of an unreadable image');
    fhir.images.forEach((img, k) => {
      const m = analysed[k];
      assert.ok(m);
      assert.equal(img.source, m.source);
      assert.equal(img.label, m.label);
      assert.equal(img.categoryDisplay, m.categoryDisplay);
      assert.equal(img.rule, m.rule);
      assert.equal(img.networkVerdict, m.networkVerdict);
      assert.deepEqual(img.trace, m.trace);
      assert.deepEqual(
        img.patterns.map((p) => [p.id, p.status, p.probability === undefined ? undefined : Number(p.probability.toFixed(4)), p.threshold]),
        m.patterns.map((p) => [p.id, p.status, p.probability === undefined ? undefined : Number(p.probability.toFixed(4)), p.threshold]),
      );
      assert.deepEqual(
        img.overlays.map((o) => [o.output, o.title, o.png]),
        m.overlays.map((o) => [o.output, o.title, o.png]),
      );
    });
    assert.equal(fhir.images.find((i) => i.deciding)?.label, 'Left cheek');
  });

  it('carries the risk statement and each heatmap in words, from memory and read back from FHIR', () => {
    const img = highImage(1);
    const described = { ...img, heatmaps: img.heatmaps.map((h) => ({ ...h, description: `Words for ${h.output}.` })) };
    const withWords = buildTriageReport(reportInput([described]));
    const memory = viewerModelFromReport(withWords);
    assert.ok(withWords.risk, 'the fixture manifest has riskBands');
    assert.deepEqual(memory.risk, {
      denominator: withWords.risk.denominator,
      frequency: withWords.risk.frequency,
      ...(withWords.risk.interval ? { interval: withWords.risk.interval } : {}),
      baseRate: withWords.risk.baseRate,
      population: withWords.risk.population,
      text: withWords.risk.text,
    });
    assert.deepEqual(memory.images[0]?.overlays.map((o) => o.description), ['Words for bcc.', 'Words for arborizing_telangiectasia.']);

    const withDevice = { ...saved(withWords), device: withWords.resources.device };
    const fhir = viewerModelFromFhir(withDevice, { terminology, manifest });
    assert.deepEqual(fhir.images[0]?.overlays.map((o) => o.description), ['Words for bcc.', 'Words for arborizing_telangiectasia.']);
    assert.equal(fhir.risk?.text, withWords.risk.text, 'the installed model made it: its bands tell the risk again');
    const otherVersion = viewerModelFromFhir(withDevice, { terminology, manifest: { ...manifest, version: '9.9.9' } });
    assert.equal(otherVersion.risk, undefined, "another version's bands are not used");
    assert.equal(viewerModelFromFhir(saved(withWords), { terminology, manifest }).risk, undefined, 'no Device, no version: no risk');
  });
});
