/**
 * npm run risk-bands -- [--oof training/results/oof-v1.5.0.csv] [--manifest models/bcc-mtl-mnv2.json] [--rules models/rules/bcc-criterion.json] [--min-images 50] [--dry-run]
 *
 * Writes the manifest's `riskBands`: how often the development images whose cross-fitted calibrated
 * BCC probability (`p_bcc_calibrated`) fell in each band were BCC, with Wilson 95% intervals, and the
 * development set's base rate. Cards and reports say "about N in 100 lesions scored like this were
 * BCC in validation" from it. Band edges: the operating points the triage rules use, on the
 * calibrated scale (kept), plus fixed steps; bands under --min-images merge. Only dermoscopic sources count (the clinical
 * photos in the file trained the modality gate, not the BCC output). Run it again for every new
 * network; a learned version keeps the network and so the section.
 * Exit 0 when written (or printed with --dry-run); 2 on bad usage or an unreadable file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { UsageError, integerFlag, parseFlags, runCli } from './cli-run.ts';
import { operatingPoints } from '../../model/calibration.ts';
import { parseManifest } from '../../model/manifest.ts';
import { loadRuleSet } from '../../rules/rule-set.ts';
import { parseCsv } from '../evaluation/labels.ts';
import type { ScoredImage } from '../evaluation/risk-bands.ts';
import { computeRiskBands } from '../evaluation/risk-bands.ts';
import { withTopLevelKey } from '../../common/json-top-level-key.ts';

const USAGE = 'usage: npm run risk-bands -- [--oof training/results/oof-v1.5.0.csv] [--manifest models/bcc-mtl-mnv2.json] [--rules models/rules/bcc-criterion.json] [--min-images 50] [--dry-run]';

const FLAGS = {
  oof: { type: 'string', default: 'training/results/oof-v1.5.0.csv' },
  manifest: { type: 'string', default: 'models/bcc-mtl-mnv2.json' },
  rules: { type: 'string', default: 'models/rules/bcc-criterion.json' },
  'min-images': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** Steps between the operating points, so that a band says something about the score it holds. */
const FIXED_EDGES = [0.01, 0.03, 0.1, 0.15, 0.2, 0.35, 0.45, 0.55, 0.7, 0.85];
const DERMOSCOPIC_SOURCES = new Set(['ham10000', 'derm7pt']);

function readScored(text: string, file: string): ScoredImage[] {
  const [header = [], ...rows] = parseCsv(text);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) {
      throw new UsageError(`${file} has no column ${name}`);
    }
    return i;
  };
  const [source, bcc, p] = [col('source'), col('bcc'), col('p_bcc_calibrated')];
  return rows
    .filter((r) => r.length === header.length && DERMOSCOPIC_SOURCES.has(r[source] ?? ''))
    .map((r, k) => {
      const probability = Number(r[p]);
      if (!(probability >= 0 && probability <= 1) || !['0', '1'].includes(r[bcc] ?? '')) {
        throw new UsageError(`${file} row ${k + 2}: p_bcc_calibrated must be in [0, 1] and bcc 0 or 1`);
      }
      return { probability, bcc: r[bcc] === '1' };
    });
}


async function main(argv: readonly string[]): Promise<number> {
  const values = parseFlags(argv, FLAGS);
  if (values.help) {
    throw new UsageError('');
  }
  const manifestPath = resolve(values.manifest);
  const manifestText = await readFile(manifestPath, 'utf8');
  const manifest = parseManifest(JSON.parse(manifestText), manifestPath);
  const scored = readScored(await readFile(resolve(values.oof), 'utf8'), values.oof);
  const points = operatingPoints(manifest);
  const rules = await loadRuleSet(resolve(values.rules));
  const riskBands = computeRiskBands(scored, {
    edges: FIXED_EDGES,
    pinned: rules.triage.flatMap((t) => (t.if.probabilityAtLeast ? [points[t.if.probabilityAtLeast] ?? Number.NaN] : [])),
    minImages: integerFlag('min-images', values['min-images'], 10) ?? 50,
    derivedFrom: `${basename(values.oof)}: out-of-fold predictions of ${manifest.name} (5-fold CV grouped by lesion), cross-fitted calibrated probability (p_bcc_calibrated), dermoscopic images only`,
    population: 'the development images',
  });
  if (values['dry-run']) {
    process.stdout.write(`${JSON.stringify(riskBands, null, 2)}\n`);
    return 0;
  }
  const next = withTopLevelKey(manifestText, 'riskBands', riskBands);
  parseManifest(JSON.parse(next), manifestPath);
  await writeFile(manifestPath, next);
  process.stdout.write(`${manifestPath}: riskBands from ${scored.length} images, ${riskBands.bands.length} bands\n`);
  return 0;
}

runCli('risk-bands', USAGE, main);
