import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toCard } from '../../src/cards/to-card.ts';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';
import { operatingPoints } from '../../src/model/calibration.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import { findRiskBand } from '../../src/model/risk-bands.ts';
import { buildTriageReport } from '../../src/report/build-triage-report.ts';
import { describeRisk } from '../../src/rules/risk-statement.ts';
import { computeRiskBands } from '../../src/tools/evaluation/risk-bands.ts';
import { analysedResult, counterIds, image, manifest, referral, reportInput, terminology } from '../report/fixtures.ts';

// The report fixtures pin round operating points; the bands are the shipped model's.
const shipped = await loadManifest(DEFAULT_MODEL_MANIFEST);
const riskBands = manifest.riskBands;
if (!riskBands) {
  throw new Error('the shipped manifest has no riskBands: run npm run risk-bands');
}

describe('risk statement', () => {
  it('tells the band\'s validation frequency, never the probability itself, beside the base rate', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (p) => {
        const r = describeRisk(p, riskBands);
        const b = findRiskBand(p, riskBands);
        assert.ok(p >= b.lo && (p < b.hi || b.hi === 1));
        assert.equal(r.frequency, Math.round((b.bcc / b.n) * r.denominator));
        assert.equal(r.baseRate, Math.round((riskBands.baseRate.bcc / riskBands.baseRate.n) * r.denominator));
        assert.match(r.text, new RegExp(`^About (\\d+|fewer than 1) in (100|1,000) lesions scored like this were BCC in validation \\(.*${b.bcc} of [\\d,]+ images\\); in the development images as a whole, ${r.baseRate} in ${r.denominator === 100 ? '100' : '1,000'} were BCC\\.$`));
        if (r.interval) {
          assert.ok(r.interval[0] <= r.frequency && r.frequency <= r.interval[1], r.text);
        }
      }),
    );
  });

  it('names the development set as the base rate: 447 BCC in 6,356 images, 7 in 100', () => {
    assert.deepEqual([riskBands.baseRate.bcc, riskBands.baseRate.n], [447, 6356]);
    assert.equal(riskBands.bands.reduce((n, b) => n + b.n, 0), riskBands.baseRate.n);
    assert.equal(describeRisk(0.27, riskBands).baseRate, 7);
    assert.equal(describeRisk(0.001, riskBands).baseRate, 70);
  });

  it('keeps the triage rules\' operating points as band edges, so no band straddles a priority', () => {
    const points = operatingPoints(shipped);
    const edges = riskBands.bands.map((b) => b.lo);
    for (const name of ['review', 'triage', 'specific']) {
      assert.ok(edges.some((e) => Math.abs(e - (points[name] ?? Number.NaN)) < 1e-6), `${name} is an edge`);
    }
  });

  it('shows the interval where it is wide, per 1,000 when the band is under 1 in 100', () => {
    const high = describeRisk(0.27, riskBands);
    assert.equal(high.denominator, 100);
    assert.ok(high.interval && high.interval[1] - high.interval[0] >= 5, high.text);
    assert.match(high.text, /\(95% interval \d+ to \d+ in 100; \d+ of \d+ images\)/);
    assert.equal(describeRisk(0.0001, riskBands).denominator, 1000);
  });

  it('never says "likely" on the card or in the report, whatever the score and patterns', () => {
    const pattern = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), pattern, pattern, (p, network, telangiectasia) => {
        const img = image(1, analysedResult('Media/img-1', p, { pigment_network: network, arborizing_telangiectasia: telangiectasia }));
        const report = buildTriageReport(reportInput([img]));
        const card = toCard(report, { referral, serviceLabel: 'BCC-CDS', modelCardUrl: 'https://bcc-cds.org/model-card', newUuid: counterIds(), terminology });
        for (const text of [card.summary, card.detail ?? '', report.conclusion, ...(report.resources.report.conclusionCode ?? []).map((c) => c.text ?? '')]) {
          assert.doesNotMatch(text, /likely/i);
        }
        assert.ok(Array.from(card.summary).length < 140, card.summary);
      }),
      { numRuns: 60 },
    );
  });
});

describe('computeRiskBands', () => {
  const scored = Array.from({ length: 400 }, (_, i) => ({ probability: i / 400, bcc: i % 4 === 0 || i > 300 }));

  it('counts BCC per band with Wilson intervals and the whole set\'s base rate', () => {
    const r = computeRiskBands(scored, { edges: [0.25, 0.5, 0.75], minImages: 50, derivedFrom: 'test', population: 'the test images' });
    assert.deepEqual(r.bands.map((b) => [b.lo, b.hi, b.n, b.bcc]), [[0, 0.25, 100, 25], [0.25, 0.5, 100, 25], [0.5, 0.75, 100, 25], [0.75, 1, 100, 100]]);
    assert.equal(r.baseRate.n, 400);
    const [lo, hi] = r.bands[0]?.ci95 ?? [0, 0];
    assert.ok(lo < 0.25 && hi > 0.25 && lo > 0.16 && hi < 0.35);
  });

  it('merges bands with too few images, but keeps pinned edges', () => {
    const r = computeRiskBands(scored, { edges: [0.1, 0.12, 0.5], pinned: [0.12], minImages: 50, derivedFrom: 'test', population: 'the test images' });
    // 0.1 goes (its band held 8 images); 0 and 0.12 stay, so [0, 0.12) keeps its 48.
    assert.deepEqual(r.bands.map((b) => [b.lo, b.hi, b.n]), [[0, 0.12, 48], [0.12, 0.5, 152], [0.5, 1, 200]]);
  });
});
