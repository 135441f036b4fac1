import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConsensusCsv } from '../../../src/annotation/annotation-csv.ts';
import { canonicalDigest } from '../../../src/common/canonical-json.ts';
import { decodeDermoscopy } from '../../../src/imaging/decode.ts';
import { toModelInput } from '../../../src/imaging/preprocess.ts';
import { readFindings } from '../../../src/model/findings.ts';
import { modelPaths } from '../../../src/config.ts';
import { loadManifest, parseManifest } from '../../../src/model/manifest.ts';
import { openModel } from '../../../src/model/session.ts';
import { openSqliteStore } from '../../../src/storage/sqlite-store.ts';
import type { CliRun } from '../../support/run-cli.ts';
import { runCli } from '../../support/run-cli.ts';
import type { LearnFixture } from './learn-fixtures.ts';
import { PATTERN, annotationSheet, writeImages } from './learn-fixtures.ts';

const CLI = 'src/tools/cli/learn.ts';
const CANDIDATE = 'bcc-mtl-mnv2-1.6.0.json';

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

describe('npm run learn (synthetic lesions, real model, CPU)', () => {
  let dir: string;
  let fx: LearnFixture;
  let sheet: string;
  let cache: string;
  let first: CliRun;
  const out = (name: string): string => join(dir, name);
  const learn = (args: readonly string[]): Promise<CliRun> => runCli(CLI, [...args, '--cache', cache]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-learn-'));
    fx = await writeImages(dir, 36, 36);
    sheet = join(dir, 'annotations.csv');
    cache = join(dir, 'cache');
    await writeFile(sheet, annotationSheet(fx.truth));
    first = await learn(['--annotations', sheet, '--images', fx.images, '--pattern', PATTERN, '--out', out('run1')]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('learns a clearly visible pattern from three noisy annotators and accepts the candidate (exit 0)', async () => {
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /candidate 1\.6\.0: accepted/);
    assert.match(first.stderr, /features 72\/72 \(cached 0\)/);
    const acceptance = await readJson(join(out('run1'), 'acceptance.json'));
    assert.equal(acceptance.accepted, true);
    assert.deepEqual(acceptance.reasons, []);
    assert.deepEqual(acceptance.bccOutputs, { compared: 72, differing: 0, identical: true, maxAbsDifference: 0, compares: 'calibrated BCC probability, exact equality' });
    const auc = acceptance.auc as { ci95: [number, number] };
    assert.ok(auc.ci95[0] >= 0.7, `AUC CI ${auc.ci95.join('-')}`);
    const manifest = parseManifest(await readJson(join(out('run1'), CANDIDATE)));
    assert.equal(manifest.learning?.acceptanceSha256, canonicalDigest(acceptance));
    assert.equal(manifest.learning.decision, 'accepted');
    assert.equal(manifest.learning.from, (await loadManifest(modelPaths().manifest)).version, 'the installed version');
    const consensus = await readJson(join(out('run1'), 'consensus.json'));
    assert.equal((consensus.annotators as unknown[]).length, 3);
    assert.equal((consensus.images as unknown[]).length, 72);
    assert.match(await readFile(join(out('run1'), 'model-card.md'), 'utf8'), /### Multiple blue-gray globules .*learned/);
  });

  it('writes a candidate that parses, opens on the installed network and assesses the pattern', async () => {
    const path = join(out('run1'), CANDIDATE);
    const manifest = parseManifest(await readJson(path));
    const p = manifest.patterns.find((q) => q.id === PATTERN)!;
    assert.equal(p.trained, true);
    assert.equal(p.head, 'learned');
    assert.equal(p.learned?.weights.length, 1280);
    assert.match(p.assessedSince ?? '', /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(manifest.modelCard.limits.some((l) => l.startsWith('Multiple blue-gray globules (learned ')));
    const model = await openModel(path, { worker: false });
    try {
      const findings = [];
      for (const key of ['lesions/l0.jpg', 'lesions/l40.jpg']) {
        const image = await decodeDermoscopy(await readFile(join(fx.images, key)));
        const [o] = await model.infer([(await toModelInput(image, manifest.input)).tensor]);
        findings.push(readFindings(o!, manifest).patterns.find((q) => q.id === PATTERN)!);
      }
      const [present, absent] = findings;
      assert.equal(fx.truth.get('lesions/l0.jpg'), true);
      assert.equal(present?.status, 'present');
      assert.equal(absent?.status, 'absent');
      for (const f of findings) {
        assert.ok(f.probability! >= 0 && f.probability! <= 1);
      }
    } finally {
      await model.close();
    }
  });

  it('takes the features of a second run from the cache', async () => {
    const second = await learn(['--annotations', sheet, '--images', fx.images, '--pattern', PATTERN, '--out', out('run2')]);
    assert.equal(second.code, 0, second.stderr);
    const report = await readJson(join(out('run2'), 'learn-report.json'));
    assert.deepEqual({ ...(report.features as object), cache: '' }, { images: 72, cached: 72, extracted: 0, cache: '' });
    assert.match(second.stdout, /features: cached 72, extracted 0/);
  });

  it('refuses (exit 1) fewer than 30 positives, still writing every file', async () => {
    const keys = [...fx.truth.keys()].filter((_, k) => k >= 16); // 20 present, 36 absent
    const few = join(dir, 'few.csv');
    await writeFile(few, annotationSheet(fx.truth, keys));
    const run = await learn(['--annotations', few, '--images', fx.images, '--pattern', PATTERN, '--out', out('few')]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /refused: .*annotated images show the pattern; at least 30 are needed/);
    const acceptance = await readJson(join(out('few'), 'acceptance.json'));
    assert.equal(acceptance.accepted, false);
    assert.deepEqual((acceptance.reasons as { code: string }[]).map((r) => r.code), ['too-few-positives']);
    const manifest = parseManifest(await readJson(join(out('few'), CANDIDATE)));
    assert.equal(manifest.learning?.decision, 'refused');
    assert.deepEqual((await readdir(out('few'))).sort(), ['acceptance.json', CANDIDATE, 'consensus.json', 'learn-report.json', 'model-card.md'].sort());
  });

  it('learns from the service store as from its export.csv (keys Media/<id> under --images)', async () => {
    const db = join(dir, 'store.sqlite');
    const store = await openSqliteStore(db);
    const media = join(dir, 'store-images');
    await mkdir(join(media, 'Media'), { recursive: true });
    const csv = annotationSheet(fx.truth).trim().split('\n').slice(1);
    try {
      for (const row of csv) {
        const [image = '', annotator = '', , value] = row.split(',');
        const id = image.replace(/^lesions\/(.*)\.jpg$/, '$1');
        await copyFile(join(fx.images, image), join(media, 'Media', `${id}.jpg`));
        await store.putAnnotation({
          id: randomUUID(),
          reportId: `r-${id}`,
          image: `Media/${id}`,
          pattern: PATTERN,
          value: value === '1' ? 'present' : value === '0' ? 'absent' : 'cannot-tell',
          annotator: { issuer: 'https://idp.example', id: annotator },
          model: { name: 'bcc-mtl-mnv2', version: '1.5.1' },
          at: new Date().toISOString(),
        });
      }
      const exported = formatConsensusCsv(await store.listAnnotations());
      const run = await learn(['--from-store', '--db', db, '--images', media, '--pattern', PATTERN, '--out', out('store')]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await readFile(join(out('store'), 'annotations.csv'), 'utf8'), exported);
      const report = await readJson(join(out('store'), 'learn-report.json'));
      // Same bytes as the CSV run's images: the cache answers.
      assert.equal((report.features as { cached: number }).cached, 72);
      assert.equal((report.images as { used: number }).used, 72);
    } finally {
      await store.close();
    }
  });

  it('exits 2 on bad usage: missing flags, an unknown pattern, an assessed pattern without --replace, a missing sheet', async () => {
    const common = ['--images', fx.images, '--out', out('bad')];
    const cases: [readonly string[], RegExp][] = [
      [['--annotations', sheet, '--pattern', PATTERN], /--images, --out are required/],
      [['--annotations', sheet, '--from-store', ...common, '--pattern', PATTERN], /exactly one of --annotations/],
      [['--annotations', sheet, ...common, '--pattern', 'moth_eaten_border'], /unknown pattern "moth_eaten_border"/],
      [['--annotations', sheet, ...common, '--pattern', 'arborizing_telangiectasia'], /already assesses "arborizing_telangiectasia".*--replace/],
      [['--annotations', join(dir, 'nope.csv'), ...common, '--pattern', PATTERN], /cannot read annotations: ENOENT/],
      [['--annotations', sheet, ...common, '--pattern', PATTERN, '--folds', '1'], /--folds must be an integer >= 2/],
    ];
    for (const [args, message] of cases) {
      const run = await learn(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    await assert.rejects(readdir(out('bad')), { code: 'ENOENT' });
  });
});
