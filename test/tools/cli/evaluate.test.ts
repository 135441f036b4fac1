import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_MODEL_MANIFEST } from '../../../src/config.ts';
import { lesionJpeg } from '../../helpers/images.ts';
import type { CliRun } from '../../support/run-cli.ts';
import { runCli } from '../../support/run-cli.ts';

function runEvaluate(args: readonly string[]): Promise<CliRun> {
  return runCli('src/tools/cli/evaluate.ts', args);
}

/** A white ellipse (the lesion) on black, as the data set's binary masks are. */
async function ellipseMask(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="black"/><ellipse cx="${width / 2}" cy="${height / 2}" rx="${width * 0.3}" ry="${height * 0.3}" fill="white"/></svg>`;
  return sharp(Buffer.from(svg)).greyscale().png().toBuffer();
}

const HEADER =
  'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,blue_gray_ovoid_nests,multiple_blue_gray_globules,leaf_like_areas,spoke_wheel_areas,arborizing_telangiectasia';

describe('npm run evaluate', () => {
  let dir: string;
  let result: CliRun;
  let report: Record<string, unknown> & {
    counts: { rows: number; analysed: number; unreadable: number; bySource: Record<string, { rows: number; analysed: number }> };
    unreadable: { image: string; reason: string }[];
    model: { name: string; version: string; sha256: string };
    data: { path: string };
    generated: string;
    metrics: {
      bcc: Record<string, { auc: { value: number | null; ci95: [number | null, number | null]; n: number; positives: number }; thresholds: Record<string, { sensitivity: { k: number; n: number; value: number | null } }>; calibration: { ece: number | null; brier: number | null; bins: unknown[] }; roc: unknown[] }>;
      patterns: Record<string, { auc: { n: number; positives: number }; threshold: number; accuracy: { n: number } }>;
      consistency: { predictedBccWithPositivePattern: { n: number }; predictedNonBccWithPigmentNetwork: { n: number } };
      heatmap: { bccWithMask: { n: number; ratio: number | null; skipped: unknown[] } };
      perSource: Record<
        string,
        {
          images: number;
          gate: { dermoscopicAccepted: { rate: { n: number; k: number }; refusals: Record<string, number> } | null; clinicalRefused: { rate: { n: number; k: number }; refusals: Record<string, number> } | null };
          bccAuc: { n: number } | null;
          triage: { sensitivity: { n: number } } | null;
          patterns: Record<string, { n: number; atMinSpecificity: unknown }>;
          consistency: { threshold: number };
        }
      >;
    };
    estimates: { thisRun: string; honest: { kind: string }[] };
    images: { image: string; bccProbability: number }[];
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-evaluate-'));
    await mkdir(join(dir, 'ham', 'masks'), { recursive: true });
    await mkdir(join(dir, 'd7'), { recursive: true });
    await writeFile(join(dir, 'ham', 'a.jpg'), await lesionJpeg(200, 150, 1));
    await writeFile(join(dir, 'ham', 'masks', 'a.png'), await ellipseMask(200, 150));
    await writeFile(join(dir, 'ham', 'b.jpg'), await lesionJpeg(200, 150, 2));
    await writeFile(join(dir, 'ham', 'c.jpg'), await lesionJpeg(200, 150, 3));
    await writeFile(join(dir, 'd7', 'd.jpg'), await lesionJpeg(320, 240, 4));
    await writeFile(join(dir, 'd7', 'e.jpg'), await lesionJpeg(320, 240, 5));
    await writeFile(join(dir, 'd7', 'broken.jpg'), Buffer.from('this is not a JPEG'));
    const rows = [
      HEADER,
      'ham/a.jpg,ham/masks/a.png,ham:L1,ham10000,bcc,1,,,,,,,',
      'ham/b.jpg,,ham:L1,ham10000,bkl,0,,,,,,,',
      'ham/c.jpg,,ham:L2,ham10000,bcc,1,,,,,,,',
      'd7/d.jpg,,d7:1,derm7pt,"nevus, clark",0,1,,,,,,0',
      'd7/e.jpg,,d7:2,derm7pt,basal cell carcinoma,1,0,,,,,,1',
      'd7/broken.jpg,,d7:3,derm7pt,melanoma,0,1,,,,,,0',
    ];
    await writeFile(join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
    // A clinical photo of a derm7pt lesion (the data set's clinical.csv): measured for the gate only.
    await mkdir(join(dir, 'clinical'), { recursive: true });
    await writeFile(join(dir, 'clinical', 'f.jpg'), await lesionJpeg(320, 240, 6));
    await writeFile(join(dir, 'clinical.csv'), 'image,group,source,diagnosis,bcc\nclinical/f.jpg,d7:1,derm7pt-clinical,nevus,0\n');
    result = await runEvaluate(['--data', dir, '--json', join(dir, 'out', 'out.json'), '--plots', join(dir, 'plots')]);
    report = JSON.parse(await readFile(join(dir, 'out', 'out.json'), 'utf8'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 and prints the table', () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Images: 6 listed, 5 analysed, 1 unreadable/);
    assert.match(result.stdout, /d7\/broken\.jpg: /);
  });

  it('records the model, the data and the time', async () => {
    const manifest = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));
    assert.deepEqual([report.model.name, report.model.version, report.model.sha256], [manifest.name, manifest.version, manifest.sha256]);
    assert.equal(report.data.path, dir);
    assert.ok(!Number.isNaN(Date.parse(report.generated)));
  });

  it('counts the unreadable image and keeps going', () => {
    assert.deepEqual([report.counts.rows, report.counts.analysed, report.counts.unreadable], [6, 5, 1]);
    assert.equal(report.unreadable[0]?.image, 'd7/broken.jpg');
    assert.ok(report.unreadable[0].reason.length > 0);
    assert.deepEqual(report.counts.bySource.derm7pt, { rows: 3, analysed: 2, bcc: 1 });
    assert.equal(report.images.length, 5);
    assert.ok(report.images.every((m) => m.bccProbability >= 0 && m.bccProbability <= 1));
  });

  it('reports BCC metrics for all images and per source at every manifest threshold', async () => {
    const manifest = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));
    assert.deepEqual(Object.keys(report.metrics.bcc), ['all', 'derm7pt', 'ham10000']);
    const all = report.metrics.bcc.all!;
    assert.deepEqual([all.auc.n, all.auc.positives], [5, 3]);
    assert.ok(all.auc.value !== null && all.auc.value >= 0 && all.auc.value <= 1);
    assert.ok(all.auc.ci95.every((v) => v === null || (v >= 0 && v <= 1)));
    assert.deepEqual(Object.keys(all.thresholds), Object.keys(manifest.thresholds));
    for (const op of Object.values(all.thresholds)) {
      assert.equal(op.sensitivity.n, 3);
      assert.ok(Number.isInteger(op.sensitivity.k) && op.sensitivity.k <= 3);
    }
    assert.equal(all.calibration.bins.length, 10);
    assert.ok(all.calibration.brier !== null && all.calibration.brier >= 0 && all.calibration.brier <= 1);
    assert.ok(all.roc.length >= 2);
  });

  it('evaluates the trained patterns on their annotated rows only', () => {
    assert.deepEqual(Object.keys(report.metrics.patterns).sort(), ['arborizing_telangiectasia', 'pigment_network']);
    const pn = report.metrics.patterns.pigment_network!;
    // d.jpg and e.jpg are annotated; broken.jpg is annotated but unreadable.
    assert.deepEqual([pn.auc.n, pn.auc.positives, pn.accuracy.n], [2, 1, 2]);
  });

  it('reports consistency over all analysed images and localisation for the masked BCC image', () => {
    const c = report.metrics.consistency;
    assert.equal(c.predictedBccWithPositivePattern.n + c.predictedNonBccWithPigmentNetwork.n, 5);
    const h = report.metrics.heatmap.bccWithMask;
    assert.equal(h.n, 1);
    assert.equal(h.skipped.length, 0);
    assert.ok(h.ratio !== null && h.ratio > 0);
  });

  it('reports per source: gate acceptance and refusals, clinical photos, BCC AUC, triage, patterns, consistency', () => {
    const ps = report.metrics.perSource;
    assert.deepEqual(Object.keys(ps), ['all', 'derm7pt', 'ham10000']);
    const [all, d7, ham] = [ps.all, ps.derm7pt, ps.ham10000];
    assert.ok(all && d7 && ham);
    assert.deepEqual([all.images, d7.images, ham.images], [5, 2, 3]);
    assert.equal(all.gate.dermoscopicAccepted?.rate.n, 5, 'every analysed image has a gate verdict');
    assert.equal(d7.gate.clinicalRefused?.rate.n, 1, 'the clinical photo counts under derm7pt');
    assert.equal(ham.gate.clinicalRefused, null);
    assert.equal(d7.bccAuc?.n, 2);
    assert.equal(ham.triage?.sensitivity.n, 2);
    assert.deepEqual(Object.keys(d7.patterns).sort(), ['arborizing_telangiectasia', 'pigment_network']);
    assert.deepEqual(Object.keys(ham.patterns), []);
    assert.match(result.stdout, /Per source \(issue #21\)/);
    assert.match(result.stdout, /gate: clinical photos refused/);
    assert.equal(report.estimates.thisRun, 'out-of-sample unless its images are in the development set', 'not the development set');
    assert.deepEqual(report.estimates.honest.map((h) => h.kind), ['grouped out-of-fold', 'leave-one-source-out']);
    assert.equal(report.metrics.bcc.all?.auc.n, 5, 'the clinical photo is not a BCC row');
  });

  it('writes the ROC curve and the reliability diagram as PNGs', async () => {
    for (const name of ['roc.png', 'reliability.png']) {
      const path = join(dir, 'plots', name);
      assert.ok((await stat(path)).size > 1000, `${name} is written`);
      const meta = await sharp(path).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 640, 640]);
    }
  });
});

describe('npm run evaluate without data', () => {
  it('exits 2 with a one-line message when the folder is missing', async () => {
    const missing = join(tmpdir(), 'bcc-evaluate-no-such-folder', 'dermoscopy');
    const r = await runEvaluate(['--data', missing]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `evaluate: no labelled data at ${missing} (needs labels.csv; the development set lives in ../shared/data/dermoscopy)`);
    assert.equal(r.stdout, '');
  });

  it('exits 2 when the folder has no labels.csv', async (t) => {
    const empty = await mkdtemp(join(tmpdir(), 'bcc-evaluate-empty-'));
    t.after(() => rm(empty, { recursive: true, force: true }));
    const r = await runEvaluate(['--data', empty]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no labelled data at .*needs labels\.csv/);
  });

  it('exits 2 on an unknown flag', async () => {
    const r = await runEvaluate(['--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: npm run evaluate/);
  });
});
