import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_IMAGE_GATE } from '../../../src/config.ts';
import { loadGateConfig } from '../../../src/gate/gate-config.ts';
import type { ModelFindings, PatternFinding } from '../../../src/model/findings.ts';
import { gateOutcomeOf, withRefusalsAsWarnings } from '../../../src/tools/evaluation/gate-outcome.ts';
import { atThreshold } from '../../../src/tools/evaluation/operating-point.ts';
import type { ClinicalImage, SourceImage, SourceSummary } from '../../../src/tools/evaluation/per-source.ts';
import { atMinSpecificity, clinicalSourceOf, measurePerSource, tallyGate } from '../../../src/tools/evaluation/per-source.ts';
import { wilson } from '../../../src/common/stats/confidence.ts';

const PATTERNS = [
  { id: 'pigment_network', role: 'negative', trained: true, threshold: 0.5 },
  { id: 'arborizing_telangiectasia', role: 'positive', trained: true, threshold: 0.5 },
  { id: 'ulceration', role: 'positive', trained: false, threshold: null },
] as const;

function findings(bcc: number, pigment: number, arborizing: number): ModelFindings {
  const patterns: PatternFinding[] = [
    { id: 'pigment_network', display: 'Pigment network', role: 'negative', status: pigment >= 0.5 ? 'present' : 'absent', probability: pigment, threshold: 0.5 },
    { id: 'arborizing_telangiectasia', display: 'Arborizing', role: 'positive', status: arborizing >= 0.5 ? 'present' : 'absent', probability: arborizing, threshold: 0.5 },
    { id: 'ulceration', display: 'Ulceration', role: 'positive', status: 'not-assessed' },
  ];
  return { bccProbability: bcc, bccScore: bcc, patterns };
}

const accepted = { accepted: true, refusals: [] } as const;
const refused = (...codes: string[]): { accepted: false; refusals: string[] } => ({ accepted: false, refusals: codes });

function img(source: string, bcc: 0 | 1, p: number, pn: 0 | 1 | undefined, pnScore: number, arb: number, gate: NonNullable<SourceImage['gate']> = accepted): SourceImage {
  return { source, bcc, patternLabels: { pigment_network: pn }, findings: findings(p, pnScore, arb), gate };
}

describe('tallyGate', () => {
  it('counts accepted or refused images with Wilson CIs and each refusal reason once per image', () => {
    const t = tallyGate([accepted, refused('blurred', 'blurred', 'not-dermoscopic'), refused('not-dermoscopic'), accepted], 'accepted');
    assert.ok(t);
    assert.deepEqual(t.rate, wilson(2, 4));
    assert.deepEqual(t.refusals, { blurred: 1, 'not-dermoscopic': 2 });
    assert.deepEqual(tallyGate([refused('not-dermoscopic'), accepted], 'refused')?.rate, wilson(1, 2));
    assert.equal(tallyGate([], 'accepted'), null);
  });
});

describe('atMinSpecificity', () => {
  it('takes the lowest threshold whose specificity is >= the floor, and its sensitivity', () => {
    // 10 negatives 0.0..0.9, 4 positives; at t = 0.9 one negative is called positive (spec 0.9).
    const negatives = Array.from({ length: 10 }, (_, i) => i / 10);
    const positives = [0.95, 0.9, 0.5, 0.2];
    const labels = [...negatives.map(() => 0), ...positives.map(() => 1)];
    const scores = [...negatives, ...positives];
    const p = atMinSpecificity(labels, scores, 0.9);
    assert.ok(p);
    assert.equal(p.threshold, 0.9);
    assert.equal(p.minSpecificity, 0.9);
    assert.deepEqual([p.specificity.k, p.specificity.n], [9, 10]);
    assert.deepEqual([p.sensitivity.k, p.sensitivity.n], [2, 4]);
    assert.deepEqual(p, { minSpecificity: 0.9, ...atThreshold(labels, scores, 0.9) });
  });

  it('is null when a class is missing', () => {
    assert.equal(atMinSpecificity([0, 0], [0.1, 0.2], 0.9), null);
  });
});

describe('clinicalSourceOf', () => {
  it('puts `<source>-clinical` under its source and leaves other names alone', () => {
    assert.equal(clinicalSourceOf('derm7pt-clinical'), 'derm7pt');
    assert.equal(clinicalSourceOf('clinic-a'), 'clinic-a');
  });
});

describe('measurePerSource', () => {
  const images: SourceImage[] = [
    img('ham10000', 1, 0.9, undefined, 0.1, 0.8),
    img('ham10000', 0, 0.1, undefined, 0.9, 0.1),
    img('ham10000', 0, 0.2, undefined, 0.2, 0.1, refused('blurred')),
    img('derm7pt', 1, 0.8, 0, 0.2, 0.9),
    img('derm7pt', 0, 0.1, 1, 0.9, 0.1),
    img('derm7pt', 0, 0.3, 1, 0.4, 0.1, refused('not-dermoscopic')),
    img('derm7pt', 0, 0.05, 0, 0.1, 0.1),
    img('hospital-a', 1, 0.7, 1, 0.6, 0.2),
    img('hospital-a', 0, 0.6, 0, 0.3, 0.3),
  ];
  const clinical: ClinicalImage[] = [
    { source: 'derm7pt-clinical', gate: refused('not-dermoscopic') },
    { source: 'derm7pt-clinical', gate: accepted },
    { source: 'phones', gate: refused('not-dermoscopic', 'under-exposed') },
  ];
  const bcc = {
    all: { auc: { value: 0.9, ci95: [0.8, 1] as const, n: 9, positives: 3 }, thresholds: { triage: atThreshold([1], [1], 0.5) } },
    derm7pt: { auc: { value: 1, ci95: [1, 1] as const, n: 4, positives: 1 }, thresholds: { triage: atThreshold([1, 0, 0, 0], [0.8, 0.1, 0.3, 0.05], 0.5) } },
  };
  const r = measurePerSource({ images, clinical, manifest: { patterns: PATTERNS.map((p) => ({ ...p, display: p.id })) }, consistencyThreshold: 0.5, bcc });
  const at = (source: string): SourceSummary => {
    const summary = r[source];
    assert.ok(summary, source);
    return summary;
  };

  it('has all, then every source of the dermoscopic images and of the clinical photos, sorted', () => {
    assert.deepEqual(Object.keys(r), ['all', 'derm7pt', 'ham10000', 'hospital-a', 'phones']);
    assert.deepEqual([at('all').images, at('all').bcc, at('derm7pt').images, at('hospital-a').images, at('phones').images], [9, 3, 4, 2, 0]);
  });

  it('tallies the gate per source: dermoscopic accepted, clinical photos refused, with reasons', () => {
    assert.deepEqual(at('all').gate.dermoscopicAccepted, { rate: wilson(7, 9), refusals: { blurred: 1, 'not-dermoscopic': 1 } });
    assert.deepEqual(at('all').gate.clinicalRefused, { rate: wilson(2, 3), refusals: { 'not-dermoscopic': 2, 'under-exposed': 1 } });
    assert.deepEqual(at('derm7pt').gate.clinicalRefused?.rate, wilson(1, 2), 'derm7pt-clinical belongs to derm7pt');
    assert.equal(at('ham10000').gate.clinicalRefused, null, 'no clinical photos of that source');
    assert.equal(at('phones').gate.dermoscopicAccepted, null);
    assert.deepEqual(at('phones').gate.clinicalRefused?.rate, wilson(1, 1));
  });

  it('takes BCC AUC and the triage point from the BCC metrics, null where there are none', () => {
    assert.equal(at('derm7pt').bccAuc?.value, 1);
    assert.deepEqual([at('derm7pt').triage?.sensitivity.k, at('derm7pt').triage?.specificity.k], [1, 3]);
    assert.equal(at('ham10000').bccAuc, null);
    assert.equal(at('ham10000').triage, null);
  });

  it('measures pattern detection on annotated rows only, trained patterns only', () => {
    assert.deepEqual(Object.keys(at('derm7pt').patterns), ['pigment_network']);
    assert.deepEqual(Object.keys(at('ham10000').patterns), [], 'no annotations, no row');
    const pn = at('all').patterns.pigment_network;
    assert.ok(pn);
    assert.deepEqual([pn.n, pn.present], [6, 3]);
    // Shipped threshold 0.5: present rows score 0.9, 0.4, 0.6 -> 2 of 3; absent 0.2, 0.1, 0.3 -> 3 of 3 below.
    assert.deepEqual([pn.shipped.sensitivity.k, pn.shipped.specificity.k], [2, 3]);
    assert.equal(pn.atMinSpecificity?.threshold, 0.4, 'the lowest threshold keeping every absent row below');
    assert.equal(pn.atMinSpecificity.sensitivity.k, 3);
  });

  it('measures consistency per source at the given threshold', () => {
    const c = at('all').consistency;
    assert.equal(c.threshold, 0.5);
    // Called BCC (>= 0.5): 0.9 (arborizing 0.8), 0.8 (0.9), 0.7 (0.2), 0.6 (0.3) -> 2 of 4 with a BCC pattern.
    assert.deepEqual([c.predictedBccWithPositivePattern.k, c.predictedBccWithPositivePattern.n], [2, 4]);
    // Pigment network present (score >= 0.5): 0.9 (p 0.1), 0.9 (p 0.1), 0.6 (p 0.7) -> 2 of 3 called non-BCC.
    assert.deepEqual([c.pigmentNetworkPredictedNonBcc.k, c.pigmentNetworkPredictedNonBcc.n], [2, 3]);
  });

  it('leaves the gate out when the run did not apply it', () => {
    const ungated = measurePerSource({ images: images.map(({ gate: _gate, ...rest }) => rest), clinical: [], manifest: { patterns: [] }, consistencyThreshold: 0.5, bcc: {} });
    assert.deepEqual(ungated.all?.gate, { dermoscopicAccepted: null, clinicalRefused: null });
  });
});

describe('gate refusals read back from warnings', async () => {
  const config = await loadGateConfig(DEFAULT_IMAGE_GATE);

  it('turns every reject into warn and keeps off checks off', () => {
    const warned = withRefusalsAsWarnings(config);
    for (const [k, c] of warned.checks.entries()) {
      assert.equal(c.action, config.checks[k]?.action === 'reject' ? 'warn' : config.checks[k]?.action, c.code);
    }
    assert.deepEqual(warned.modelChecks, { 'not-dermoscopic': 'warn', 'out-of-distribution': 'warn' });
  });

  it('counts as refused only the warnings of checks the configured gate rejects on', () => {
    assert.deepEqual(gateOutcomeOf([], config), { accepted: true, refusals: [] });
    assert.deepEqual(gateOutcomeOf([{ code: 'not-dermoscopic' }, { code: 'blurred' }, { code: 'blurred' }], config), { accepted: false, refusals: ['not-dermoscopic', 'blurred'] });
    const lenient = { ...config, modelChecks: { 'not-dermoscopic': 'warn' as const, 'out-of-distribution': 'reject' as const } };
    assert.deepEqual(gateOutcomeOf([{ code: 'not-dermoscopic' }], lenient), { accepted: true, refusals: [] }, 'a warn check only warns');
  });
});
