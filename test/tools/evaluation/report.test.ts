import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvaluatedImage } from '../../../src/tools/evaluation/report.ts';
import { measureEvaluation } from '../../../src/tools/evaluation/report.ts';
import { formatEvaluationTable } from '../../../src/tools/evaluation/table.ts';
import { readFindings } from '../../../src/model/findings.ts';
import { loadPinnedManifest } from '../../fixtures/pinned-manifest.ts';

const manifest = await loadPinnedManifest();
const ids = manifest.patterns.map((p) => p.id);

function evaluated(n: number, source: string, bcc: 0 | 1 | undefined, p: number, pigment?: 0 | 1): EvaluatedImage {
  const patterns = Float32Array.from(ids.map((id) => (id === 'pigment_network' ? 1 - p : p)));
  return {
    image: `${source}/${n}.jpg`,
    group: `${source}:${n}`,
    source,
    bcc,
    patternLabels: { pigment_network: pigment, arborizing_telangiectasia: undefined },
    findings: readFindings({ bcc: p, patterns }, manifest),
  };
}

describe('measureEvaluation', () => {
  const images = [
    evaluated(1, 'b', 1, 0.9, 0),
    evaluated(2, 'b', 0, 0.2, 1),
    evaluated(3, 'a', 1, 0.6),
    evaluated(4, 'a', 0, 0.7),
    evaluated(5, 'a', 0, 0.1),
    evaluated(6, 'a', undefined, 0.5),
  ];
  const m = measureEvaluation({
    images,
    manifest,
    localisation: [{ inside: 0.6, outside: 0.3 }],
    localisationSkipped: [{ image: 'a/9.jpg', reason: 'mask is all lesion' }],
    bootstrap: { resamples: 200, seed: 1 },
  });

  it('reports all images, then each source, at every manifest threshold', () => {
    assert.deepEqual(Object.keys(m.bcc), ['all', 'a', 'b']);
    const all = m.bcc.all!;
    // The unlabelled image is left out of BCC metrics.
    assert.equal(all.auc.n, 5);
    assert.equal(all.auc.positives, 2);
    // Positives 0.9, 0.6 against negatives 0.2, 0.7, 0.1: 5 of 6 pairs.
    assert.equal(all.auc.value, 5 / 6);
    assert.deepEqual(Object.keys(all.thresholds), Object.keys(manifest.thresholds));
    assert.equal(all.thresholds.balanced!.threshold, manifest.thresholds.balanced);
    assert.equal(all.calibration.n, 5);
    assert.equal(m.bcc.b!.auc.value, 1);
  });

  it('evaluates trained patterns only, on their annotated rows', () => {
    assert.deepEqual(
      Object.keys(m.patterns),
      manifest.patterns.filter((p) => p.trained).map((p) => p.id),
    );
    const pn = m.patterns.pigment_network!;
    assert.equal(pn.auc.n, 2);
    assert.equal(pn.auc.value, 1);
    assert.equal(pn.threshold, manifest.patterns.find((p) => p.id === 'pigment_network')!.threshold);
    assert.equal(m.patterns.arborizing_telangiectasia!.auc.n, 0);
  });

  it('computes consistency on every image, labelled or not', () => {
    const c = m.consistency;
    assert.equal(c.operatingPoint, 'balanced');
    assert.equal(c.predictedBccWithPositivePattern.n + c.predictedNonBccWithPigmentNetwork.n, 6);
  });

  it('summarises localisation with the skipped images', () => {
    assert.equal(m.heatmap.bccWithMask.n, 1);
    assert.equal(m.heatmap.bccWithMask.ratio, 2);
    assert.equal(m.heatmap.bccWithMask.skipped.length, 1);
  });

  it('prints a table with each section and the unreadable images', () => {
    const table = formatEvaluationTable({
      model: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 },
      data: { path: '/data' },
      counts: { rows: 7, analysed: 6, unreadable: 1 },
      unreadable: [{ image: 'a/broken.jpg', reason: 'image is unreadable' }],
      metrics: m,
    });
    assert.match(table, /^all {2,}5 {2,}2 {2,}0\.833 \(/m);
    assert.match(table, /^all {2,}specific {2,}0\.8000/m);
    assert.match(table, /^pigment_network {2,}2 /m);
    assert.match(table, /called BCC, with a positive pattern present/);
    assert.match(table, /ratio 2\.000/);
    assert.match(table, /a\/broken\.jpg: image is unreadable/);
  });
});
