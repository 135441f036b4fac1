import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../../src/config.ts';
import type { LosoRun } from '../../src/model/loso-card.ts';
import { LOSO_TARGETS, buildLosoCard, losoCardSchema, parseLosoRun, withLosoSection } from '../../src/model/loso-card.ts';
import { loadManifest, parseManifest } from '../../src/model/manifest.ts';
import { writeModelCardMarkdown } from '../../src/report/model-card.ts';
import { describeEstimates } from '../../src/tools/evaluation/estimates.ts';

const p = (k: number, n: number): { value: number; ci95: [number, number]; k: number; n: number } => ({ value: k / n, ci95: [0, 1], k, n });
const auc = (value: number, n: number, positives: number): { value: number; ci95: [number, number]; n: number; positives: number } => ({ value, ci95: [0, 1], n, positives });

/** Two sources, the shape training writes (training/results/<date>/loso-<recipe>/loso.json). */
const RUN: LosoRun = parseLosoRun({
  kind: 'leave-one-source-out (test)',
  sources: {
    b: {
      heldOut: 'b',
      trainedOn: ['a'],
      images: 100,
      bcc: 10,
      bccAuc: auc(0.8, 100, 10),
      triage: { threshold: 0.3, thresholdFrom: 'training sources, in-sample', sensitivity: p(5, 10), specificity: p(81, 90), accuracy: p(86, 100) },
      gate: { threshold: 0.5, dermoscopicAccepted: p(99, 100), clinicalRejected: p(90, 100) },
      pigmentNetwork: { 'sensitivityAtSpecificity0.9': 0.95, auc: auc(0.9, 100, 40), n: 100, positives: 40, note: 'cross-fit' },
      heatmap: { n: 0 },
      consistency: null,
    },
    a: {
      heldOut: 'a',
      trainedOn: ['b'],
      images: 50,
      bcc: 5,
      bccAuc: auc(0.7, 50, 5),
      triage: { threshold: 0.2, thresholdFrom: 'training sources, in-sample', sensitivity: p(2, 5), specificity: p(40, 45) },
      gate: { dermoscopicAccepted: p(40, 50) },
      pigmentNetwork: { value: null, note: 'no labels' },
      heatmap: { n: 5, ratio: 1.5 },
    },
  },
});
const OPTS = { recipe: 'config.json (1.5.0)', fit: 'a re-fit, not the shipped weights', from: 'training/results/x/loso.json', fromSha256: 'a'.repeat(64) };

describe('buildLosoCard', () => {
  const card = buildLosoCard(RUN, OPTS);

  it('keeps the provenance: recipe, re-fit, protocol, file and digest', () => {
    assert.deepEqual([card.recipe, card.fit, card.protocol, card.from, card.fromSha256], [OPTS.recipe, OPTS.fit, 'leave-one-source-out (test)', OPTS.from, OPTS.fromSha256]);
    assert.deepEqual(card.targets.map((t) => t.id), LOSO_TARGETS.map((t) => t.id));
    assert.equal(losoCardSchema.safeParse(card).success, true);
  });

  it('has one entry per held-out source, sorted, with the figures it read', () => {
    assert.deepEqual(Object.keys(card.heldOut), ['a', 'b']);
    const b = card.heldOut.b!;
    assert.deepEqual(b.trainedOn, ['a']);
    assert.equal(b.bccAuc.value, 0.8);
    assert.equal(b.triage.sensitivity.k, 5);
    assert.equal(b.gate.clinicalRejected?.k, 90);
    assert.equal(b.pigmentNetwork?.sensitivityAtSpecificity90, 0.95);
    assert.equal(b.heatmapRatio, null, 'no masks on the held-out source');
    assert.equal(card.heldOut.a!.pigmentNetwork, null);
    assert.equal(card.heldOut.a!.gate.clinicalRejected, null);
    assert.equal(card.heldOut.a!.heatmapRatio, 1.5);
  });

  it('judges the absolute targets, leaves the relative ones to later recipes and says what cannot be measured', () => {
    const verdicts = (s: string): Record<string, boolean | null> => Object.fromEntries(card.heldOut[s]!.targets.map((t) => [t.id, t.met]));
    assert.deepEqual(verdicts('b'), {
      'gate-dermoscopic-accepted': true,
      'gate-clinical-refused': false,
      'pigment-network-sensitivity-at-specificity-0.9': true,
      'bcc-auc': null,
      triage: null,
      heatmap: null,
    });
    assert.deepEqual(verdicts('a'), {
      'gate-dermoscopic-accepted': false,
      'gate-clinical-refused': null,
      'pigment-network-sensitivity-at-specificity-0.9': null,
      'bcc-auc': null,
      triage: null,
      heatmap: null,
    });
    assert.match(card.heldOut.a!.targets.find((t) => t.id === 'gate-clinical-refused')!.note ?? '', /not measurable/);
    assert.match(card.heldOut.a!.targets.find((t) => t.id === 'bcc-auc')!.note ?? '', /reference/);
  });
});

describe('withLosoSection', () => {
  const card = buildLosoCard(RUN, OPTS);
  const base = '{\n  "name": "m",\n  "version": "1.0.0",\n  "modelCard": {\n    "x": 1\n  }\n}\n';

  it('appends the section as the last key and keeps every other key, riskBands included, byte for byte', () => {
    const added = withLosoSection(base, card);
    assert.ok(added.startsWith(base.slice(0, -3)));
    assert.deepEqual(JSON.parse(added), { ...(JSON.parse(base) as object), loso: card });
    const withBands = '{\n  "name": "m",\n  "riskBands": {\n    "n": 1\n  }\n}\n';
    const after = withLosoSection(withBands, card);
    assert.deepEqual(Object.keys(JSON.parse(after) as object), ['name', 'riskBands', 'loso']);
    assert.ok(after.startsWith('{\n  "name": "m",\n  "riskBands": {\n    "n": 1\n  },\n  "loso": '));
  });

  it('replaces an existing section and is idempotent', () => {
    const once = withLosoSection(base, card);
    assert.equal(withLosoSection(once, card), once);
    const other = buildLosoCard(RUN, { ...OPTS, recipe: 'another recipe' });
    const replaced = withLosoSection(once, other);
    assert.equal((JSON.parse(replaced) as { loso: { recipe: string } }).loso.recipe, 'another recipe');
    assert.equal(withLosoSection(replaced, card), once);
  });
});

describe('the installed manifest', async () => {
  const manifest = await loadManifest(DEFAULT_MODEL_MANIFEST);

  it('carries the loso section npm run model-card-loso builds from the committed loso.json (not typed by hand)', async () => {
    assert.ok(manifest.loso, 'manifest.loso');
    const path = resolve(PROJECT_ROOT, manifest.loso.from);
    const bytes = await readFile(path);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), manifest.loso.fromSha256, `${manifest.loso.from} changed since the section was written`);
    const rebuilt = buildLosoCard(parseLosoRun(JSON.parse(bytes.toString('utf8'))), { recipe: manifest.loso.recipe, fit: manifest.loso.fit, from: manifest.loso.from, fromSha256: manifest.loso.fromSha256 });
    assert.deepEqual(manifest.loso, parseManifest({ ...manifest, loso: rebuilt }).loso);
    assert.match(manifest.loso.fit, /not the shipped weights/);
  });

  it('shows the per-source figures in the model card: out-of-fold beside held out, and the targets met or not', () => {
    const md = writeModelCardMarkdown(manifest);
    assert.match(md, /## Figures per source/);
    assert.match(md, /\| derm7pt \| grouped out-of-fold \| 0\.925 /);
    assert.match(md, /\| derm7pt \| held out \(trained on ham10000\) \| 0\.876 /);
    assert.match(md, /\| ham10000 \| held out \(trained on derm7pt\) \| 0\.820 /);
    assert.match(md, /\| dermoscopic images accepted by the gate \(>= 0\.98\) \| 0\.075: not met \| 0\.978: not met \|/);
    assert.match(md, /\| pigment network detected \(sensitivity\) at >= 90% specificity \(>= 0\.9\) \| 0\.411: not met \| not measurable \|/);
    assert.match(md, /BCC AUC no worse than 1\.5\.0 \| 0\.876: reference \(1\.5\.0 recipe\)/);
  });

  it('says a run on the development set is in-sample and lists both honest estimates', () => {
    const e = describeEstimates(manifest, true);
    assert.equal(e.thisRun, 'in-sample');
    assert.match(e.text, /IN-SAMPLE/);
    assert.deepEqual(e.honest.map((h) => h.kind), ['grouped out-of-fold', 'leave-one-source-out']);
    assert.equal(e.honest[1]?.bySource.derm7pt?.gateDermoscopicAccepted, manifest.loso?.heldOut.derm7pt?.gate.dermoscopicAccepted.value);
    assert.equal(describeEstimates(manifest, false).thisRun, 'out-of-sample unless its images are in the development set');
  });
});
