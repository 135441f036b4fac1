import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCsv } from '../../../src/tools/evaluation/labels.ts';
import { runCli } from '../../support/run-cli.ts';

const HEADER =
  'image,mask,group,source,diagnosis,bcc,pigment_network,ulceration,blue_gray_ovoid_nests,multiple_blue_gray_globules,leaf_like_areas,spoke_wheel_areas,arborizing_telangiectasia';

/** Three annotators on bcc and arborizing telangiectasia; pigment network by one; the rest by nobody. */
function generateSheet(): string {
  const rows = ['image,annotator,label,value'];
  // Image k is BCC when k % 3 === 0; d3 misses every fourth image's BCC and calls image 4 BCC.
  for (let k = 0; k < 12; k++) {
    const truth = k % 3 === 0 ? 1 : 0;
    rows.push(`derm7pt/img${k}.jpg,d1,bcc,${truth}`, `derm7pt/img${k}.jpg,d2,bcc,${truth}`);
    rows.push(`derm7pt/img${k}.jpg,d3,bcc,${k === 4 ? 1 : k % 4 === 0 ? 0 : truth}`);
    rows.push(`derm7pt/img${k}.jpg,d1,arborizing_telangiectasia,${truth}`, `derm7pt/img${k}.jpg,d2,arborizing_telangiectasia,${k === 1 ? 1 : truth}`);
    rows.push(`derm7pt/img${k}.jpg,d3,arborizing_telangiectasia,${k === 5 ? '' : truth}`);
  }
  rows.push('derm7pt/img0.jpg,d2,pigment_network,0', 'derm7pt/img1.jpg,d2,pigment_network,1');
  return `${rows.join('\n')}\n`;
}

describe('npm run consensus', () => {
  let dir: string;
  let sheet: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bcc-consensus-'));
    sheet = join(dir, 'annotations.csv');
    await writeFile(sheet, generateSheet());
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the expected labels.csv, the posteriors beside it and the report', async () => {
    const out = join(dir, 'hard', 'labels.csv');
    const run = await runCli('src/tools/cli/consensus.ts', ['--annotations', sheet, '--out', out, '--report', join(dir, 'hard', 'report.json')]);
    assert.equal(run.code, 0, run.stderr);
    const expected = [HEADER];
    for (let k = 0; k < 12; k++) {
      const t = k % 3 === 0 ? 1 : 0;
      const pn = k === 0 ? '0' : k === 1 ? '1' : '';
      expected.push(`derm7pt/img${k}.jpg,,,,,${t},${pn},,,,,,${t}`);
    }
    assert.equal(await readFile(out, 'utf8'), `${expected.join('\n')}\n`);
    const posteriors = parseCsv(await readFile(join(dir, 'hard', 'labels.posteriors.csv'), 'utf8'));
    assert.deepEqual(posteriors[0], ['image', 'label', 'posterior', 'consensus', 'majority', 'positive_votes', 'votes']);
    assert.equal(posteriors.length, 1 + 12 + 12 + 2);
    const report = JSON.parse(await readFile(join(dir, 'hard', 'report.json'), 'utf8')) as {
      labels: Record<string, { status: string; annotatorRates: Record<string, { sensitivity: number | null }> }>;
      notAnnotated: string[];
      warnings: string[];
    };
    assert.equal(report.labels.bcc!.status, 'consensus');
    assert.equal(report.labels.pigment_network!.status, 'single-annotator');
    assert.deepEqual(report.notAnnotated, ['ulceration', 'blue_gray_ovoid_nests', 'multiple_blue_gray_globules', 'leaf_like_areas', 'spoke_wheel_areas']);
    assert.ok(report.labels.bcc!.annotatorRates.d3!.sensitivity! < report.labels.bcc!.annotatorRates.d1!.sensitivity!);
    assert.match(run.stderr, /warning: pigment_network: only annotator d2 voted/);
    assert.match(run.stdout, /^bcc +consensus +12 +3 +4 /m);
  });

  it('writes posterior probabilities with --soft', async () => {
    const out = join(dir, 'soft', 'labels.csv');
    const run = await runCli('src/tools/cli/consensus.ts', ['--annotations', sheet, '--out', out, '--soft', '--posteriors', join(dir, 'soft', 'p.csv')]);
    assert.equal(run.code, 0, run.stderr);
    const rows = parseCsv(await readFile(out, 'utf8')).slice(1);
    const bcc = rows.map((r) => Number(r[5]));
    assert.ok(bcc.every((p, k) => (k % 3 === 0 ? p > 0.5 && p < 1 : p < 0.5 && p > 0)), bcc.join(' '));
    await access(join(dir, 'soft', 'p.csv'));
  });

  const failures: readonly { readonly name: string; readonly rows: readonly string[]; readonly message: RegExp }[] = [
    { name: 'an unknown label', rows: ['a.jpg,d1,ulcer,1'], message: /line 2 column label: unknown label "ulcer"; expected one of bcc, pigment_network/ },
    { name: 'a value other than 0/1/empty', rows: ['a.jpg,d1,bcc,2'], message: /line 2 column value: value must be 1, 0 or empty, got "2"/ },
    { name: 'conflicting duplicate votes', rows: ['a.jpg,d1,bcc,1', 'a.jpg,d1,bcc,0'], message: /line 3 column value: conflicting votes by annotator "d1" on image "a.jpg", label bcc: 1 on line 2, 0 here/ },
  ];
  for (const f of failures) {
    it(`exits 2 on ${f.name}, naming the line, and writes nothing`, async () => {
      const bad = join(dir, 'bad.csv');
      await writeFile(bad, ['image,annotator,label,value', ...f.rows].join('\n'));
      const out = join(dir, 'bad-out', 'labels.csv');
      const run = await runCli('src/tools/cli/consensus.ts', ['--annotations', bad, '--out', out]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, f.message);
      await assert.rejects(access(out));
    });
  }

  it('exits 2 when a label has fewer annotators than --min-annotators', async () => {
    const run = await runCli('src/tools/cli/consensus.ts', ['--annotations', sheet, '--out', join(dir, 'min', 'labels.csv'), '--min-annotators', '2']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /label pigment_network: label pigment_network has 1 annotator\(s\) \(d2\); --min-annotators is 2/);
    await assert.rejects(access(join(dir, 'min', 'labels.csv')));
  });

  it('exits 2 with usage when --out is missing', async () => {
    const run = await runCli('src/tools/cli/consensus.ts', ['--annotations', sheet]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--annotations and --out are required\nusage: npm run consensus/);
  });
});
