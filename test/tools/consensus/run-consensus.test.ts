import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv } from '../../../src/tools/evaluation/labels.ts';
import { runConsensus } from '../../../src/tools/consensus/run-consensus.ts';
import { simulateRaters } from './simulated-raters.ts';

const LABELS = ['bcc', 'pigment_network', 'ulceration', 'arborizing_telangiectasia'] as const;
const GENERATED = '2026-01-01T00:00:00.000Z';

function sheet(rows: readonly string[]): { text: string; source: string } {
  return { text: ['image,annotator,label,value', ...rows].join('\n'), source: 'sheet.csv' };
}

interface LabelReport {
  status: string;
  images: number;
  positives: number;
  annotators: string[];
  annotatorRates: Record<string, { sensitivity: number | null; specificity: number | null; votes: number }>;
  fleissKappa: { value: number | null; images: number };
  majorityVsEm: { ties: number; disagreements: number; listed: { image: string; majority: number | string; em: number }[] };
  notes: string[];
  soft?: string;
  base?: { compared: number; changed: number; appended: number };
}

function labelReport(report: Record<string, unknown>, label: string): LabelReport {
  return (report.labels as Record<string, LabelReport>)[label]!;
}

/** bcc by three annotators; pigment network by d1 alone; arborizing: everyone says 0; ulceration: nobody. */
const SMALL = sheet([
  'a.jpg,d1,bcc,1',
  'a.jpg,d2,bcc,1',
  'a.jpg,d3,bcc,1',
  'b.jpg,d1,bcc,0',
  'b.jpg,d2,bcc,0',
  'b.jpg,d3,bcc,0',
  'c.jpg,d1,bcc,1',
  'c.jpg,d2,bcc,1',
  'c.jpg,d3,bcc,0',
  'd.jpg,d1,bcc,0',
  'd.jpg,d2,bcc,0',
  'd.jpg,d3,bcc,',
  'a.jpg,d1,pigment_network,0',
  'b.jpg,d1,pigment_network,1',
  'a.jpg,d2,arborizing_telangiectasia,0',
  'b.jpg,d3,arborizing_telangiectasia,0',
  'c.jpg,d1,arborizing_telangiectasia,0',
  'c.jpg,d2,arborizing_telangiectasia,0',
  'd.jpg,d1,ulceration,',
]);

describe('consensus: documented behaviour on small and degenerate inputs', () => {
  const result = runConsensus({ annotations: SMALL, labels: LABELS, generated: GENERATED });

  it('writes one labels.csv row per image, consensus 0/1, empty where nobody voted', () => {
    assert.equal(
      result.labelsCsv,
      [
        'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,arborizing_telangiectasia',
        'a.jpg,,,,,1,0,,0',
        'b.jpg,,,,,0,1,,0',
        'c.jpg,,,,,1,,,0',
        'd.jpg,,,,,0,,,',
        '',
      ].join('\n'),
    );
  });

  it('with one annotator, EM degenerates to that annotator: their votes, no rates, a note', () => {
    const pn = labelReport(result.report, 'pigment_network');
    assert.equal(pn.status, 'single-annotator');
    assert.deepEqual(pn.annotatorRates, { d1: { sensitivity: null, specificity: null, votes: 2 } });
    assert.match(pn.notes[0]!, /only annotator d1 voted on this label: EM degenerates to that annotator/);
    assert.match((result.report.warnings as string[]).join('\n'), /pigment_network: only annotator d1/);
    const rows = result.posteriorsCsv.split('\n').filter((l) => l.includes(',pigment_network,'));
    assert.deepEqual(rows, ['a.jpg,pigment_network,0,0,0,0,1', 'b.jpg,pigment_network,1,1,1,1,1']);
  });

  it('leaves a label nobody voted on (only empty values) out, listed as not annotated', () => {
    const u = labelReport(result.report, 'ulceration');
    assert.equal(u.status, 'not-annotated');
    assert.equal(u.images, 0);
    assert.deepEqual(result.report.notAnnotated, ['ulceration']);
    assert.ok(!(result.report.warnings as string[]).some((w) => w.startsWith('ulceration')));
  });

  it('reports agreement and the class counts per label', () => {
    const bcc = labelReport(result.report, 'bcc');
    assert.equal(bcc.status, 'consensus');
    assert.deepEqual(bcc.annotators, ['d1', 'd2', 'd3']);
    assert.equal(bcc.positives, 2);
    // Items a, b, c (3 votes) and d (2 votes): P_i = 1, 1, 1/3, 1 -> P-bar 5/6; 5 of 11 votes positive.
    const pe = (5 / 11) ** 2 + (6 / 11) ** 2;
    assert.equal(bcc.fleissKappa.value, Number(((5 / 6 - pe) / (1 - pe)).toFixed(4)));
    assert.equal(bcc.fleissKappa.images, 4);
  });

  it('writes soft posteriors, except hard 0s for a label with no positive consensus (train.py would call it trained)', () => {
    const soft = runConsensus({ annotations: SMALL, labels: LABELS, soft: true, generated: GENERATED });
    const rows = parseCsv(soft.labelsCsv);
    const bcc = rows.slice(1).map((r) => Number(r[5]));
    assert.ok(bcc[0]! > 0.5 && bcc[0]! < 1 && bcc[1]! > 0 && bcc[1]! < 0.5, String(bcc));
    assert.deepEqual(rows.slice(1).map((r) => r[8]), ['0', '0', '0', '']);
    assert.match(String(labelReport(soft.report, 'arborizing_telangiectasia').soft), /hard 0\/1/);
  });

  it('merges into a base labels.csv: keeps its rows and cells, replaces decided cells, appends new images', () => {
    const base = {
      source: 'base.csv',
      text: [
        'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,arborizing_telangiectasia',
        'z.jpg,z.png,L9,derm7pt,"nevus, clark",0,1,,0',
        'b.jpg,,L2,derm7pt,bkl,1,,1,',
        'a.jpg,,L1,derm7pt,bcc,1,1,,1',
      ].join('\n'),
    };
    const merged = runConsensus({ annotations: SMALL, labels: LABELS, base, generated: GENERATED });
    assert.equal(
      merged.labelsCsv,
      [
        'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,arborizing_telangiectasia',
        'z.jpg,z.png,L9,derm7pt,"nevus, clark",0,1,,0',
        'b.jpg,,L2,derm7pt,bkl,0,1,1,0',
        'a.jpg,,L1,derm7pt,bcc,1,0,,0',
        'c.jpg,,,,,1,,,0',
        'd.jpg,,,,,0,,,',
        '',
      ].join('\n'),
    );
    assert.deepEqual(labelReport(merged.report, 'bcc').base, { compared: 2, changed: 1, appended: 2 });
    assert.deepEqual(labelReport(merged.report, 'arborizing_telangiectasia').base, { compared: 1, changed: 1, appended: 1 });
    assert.match((merged.report.warnings as string[]).join('\n'), /2 annotated image\(s\) are not in base\.csv and were appended .* e\.g\. c\.jpg, d\.jpg/);
  });

  it('does not append a base-less image whose every vote was empty', () => {
    const base = { source: 'base.csv', text: 'image,mask,group,source,diagnosis,bcc\na.jpg,,L1,derm7pt,bcc,1\n' };
    const onlyEmpty = sheet(['a.jpg,d1,bcc,1', 'a.jpg,d2,bcc,1', 'e.jpg,d1,bcc,', 'e.jpg,d2,ulceration,']);
    const merged = runConsensus({ annotations: onlyEmpty, labels: LABELS, base, generated: GENERATED });
    assert.equal(merged.labelsCsv, 'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,arborizing_telangiectasia\na.jpg,,L1,derm7pt,bcc,1,,,\n');
    assert.ok(!(merged.report.warnings as string[]).some((w) => w.includes('appended')));
  });
});

describe('consensus: majority vote vs EM', () => {
  // Two reliable raters among three weak ones (as in dawid-skene.test.ts), 1,000 images, 10% missing.
  const sim = simulateRaters({
    items: 1000,
    prior: 0.3,
    raters: [
      { name: 'expert', sensitivity: 0.95, specificity: 0.95 },
      { name: 'good', sensitivity: 0.9, specificity: 0.92 },
      { name: 'weak1', sensitivity: 0.65, specificity: 0.6 },
      { name: 'weak2', sensitivity: 0.6, specificity: 0.65 },
      { name: 'weak3', sensitivity: 0.55, specificity: 0.7 },
    ],
    missing: 0.1,
    seed: 11,
  });
  const result = runConsensus({
    annotations: sheet(sim.votes.map((v) => `${v.item},${v.rater},bcc,${v.value}`)),
    labels: LABELS,
    generated: GENERATED,
  });
  const bcc = labelReport(result.report, 'bcc');
  const truth = (item: string): number => sim.truth[Number(item.slice(1))]!;

  it('counts and lists the images where EM and a (non-tied) majority part ways', () => {
    const posteriorRows = parseCsv(result.posteriorsCsv).slice(1);
    const split = posteriorRows.filter(([, , , consensus, majority]) => majority !== 'tie' && majority !== consensus);
    assert.ok(split.length > 30, `${split.length} disagreements`);
    assert.equal(bcc.majorityVsEm.disagreements, split.length);
    assert.equal(bcc.majorityVsEm.ties, posteriorRows.filter((r) => r[4] === 'tie').length);
    assert.equal(bcc.majorityVsEm.listed.length, split.length + bcc.majorityVsEm.ties);
    assert.ok(bcc.majorityVsEm.listed.every((d) => d.majority !== d.em));
  });

  it('is right on most of the images where it overrules the majority', () => {
    const overruled = bcc.majorityVsEm.listed.filter((d) => d.majority !== 'tie');
    const emRight = overruled.filter((d) => d.em === truth(d.image)).length / overruled.length;
    assert.ok(emRight >= 0.7, `EM right on ${emRight} of ${overruled.length}`);
  });

  it('estimates the reliable raters as far better than the weak ones', () => {
    const rates = bcc.annotatorRates;
    for (const name of ['expert', 'good']) {
      assert.ok(rates[name]!.sensitivity! > 0.85 && rates[name]!.specificity! > 0.85, name);
    }
    for (const name of ['weak1', 'weak2', 'weak3']) {
      assert.ok(rates[name]!.sensitivity! < 0.75 && rates[name]!.specificity! < 0.8, name);
    }
  });
});
