import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../../src/config.ts';
import { lesionJpeg } from '../../helpers/images.ts';

const run = promisify(execFile);

async function analyze(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/tools/cli/analyze.ts', ...args], { cwd: PROJECT_ROOT });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('analyze CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-analyze-'));
    await writeFile(join(dir, 'lesion.jpg'), await lesionJpeg(400, 300));
    await writeFile(join(dir, 'broken.jpg'), Buffer.from('this is not a jpeg'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses, with the gate\'s reasons and no score, an image that is not a dermoscopic photo', async () => {
    const { code, stdout } = await analyze(join(dir, 'lesion.jpg'));
    assert.equal(code, 1, 'exit 1: an image was not assessed');
    const report = JSON.parse(stdout);
    assert.match(report.imageGate, /quality checks image-gate .*whether the image is dermoscopic/);
    const [drawing] = report.images;
    assert.equal(drawing.ok, false);
    assert.equal(drawing.rejected.stage, 'model');
    assert.ok(drawing.rejected.reasons.some((r: { code: string }) => r.code === 'out-of-distribution' || r.code === 'not-dermoscopic'));
    assert.equal(drawing.bcc, undefined, 'no probability for a refused image');
  });

  // The synthetic drawing is refused by the gate (above): --no-gate studies the raw model on it.
  it('reports each image, writes heatmaps beside it, and degrades only the bad image', async () => {
    const { code, stdout } = await analyze(join(dir, 'lesion.jpg'), join(dir, 'broken.jpg'), '--no-gate');
    assert.equal(code, 1, 'exit 1: one image unreadable');
    const report = JSON.parse(stdout);
    assert.match(report.notice, /Decision support/);
    assert.equal(report.model.name, 'bcc-mtl-mnv2');
    assert.ok(report.assessablePatterns.includes('pigment_network'));
    const [good, bad] = report.images;
    assert.equal(good.ok, true);
    assert.ok(good.bcc.probability >= 0 && good.bcc.probability <= 1);
    assert.ok(good.bcc.rawScore >= 0 && good.bcc.rawScore <= 1);
    assert.equal(good.bcc.calibrated, true);
    assert.ok(['high', 'moderate', 'indeterminate', 'low'].includes(good.triage.category));
    assert.equal(report.imageGate, 'off (--no-gate)');
    assert.equal(good.patterns.length, 7);
    for (const p of good.patterns) {
      assert.equal('probability' in p, p.status !== 'not-assessed', `${p.id}: probability only when assessed`);
      assert.equal(report.notAssessedPatterns.includes(p.id), p.status === 'not-assessed');
    }
    assert.ok(good.trace.length >= 4);
    const bccMap = good.heatmaps.bcc;
    assert.equal(bccMap, join(dir, 'lesion.bcc-heatmap.png'));
    const meta = await sharp(await readFile(bccMap)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 400, 300]);
    const present = good.patterns.filter((p: { status: string }) => p.status === 'present').map((p: { id: string }) => p.id);
    assert.deepEqual(Object.keys(good.heatmaps).sort(), ['bcc', ...present].sort());
    assert.equal(bad.ok, false);
    assert.match(bad.error, /broken\.jpg: image is unreadable/);
    assert.equal(bad.outcome.resourceType, 'OperationOutcome');
  });

  it('writes into --out-dir when given', async () => {
    const out = await mkdtemp(join(tmpdir(), 'bcc-analyze-out-'));
    try {
      const { code, stdout } = await analyze(join(dir, 'lesion.jpg'), '--out-dir', out, '--no-gate');
      assert.equal(code, 0);
      assert.equal(JSON.parse(stdout).images[0].heatmaps.bcc, join(out, 'lesion.bcc-heatmap.png'));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('exits 2 with usage when given no image', async () => {
    const { code, stderr } = await analyze();
    assert.equal(code, 2);
    assert.match(stderr, /usage: npm run analyze/);
  });
});
