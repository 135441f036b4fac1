/**
 * npm run learn -- (--annotations <csv> | --from-store [--db f | --database-url u]) --images <dir>
 *   --pattern <id> --out <dir> [--base <manifest.json>] [--replace] [--groups <csv>] [--cache <dir>]
 *   [--folds 5] [--seed 1]
 *
 * Learns a pattern head from dermatologists' annotations on the CPU and writes a candidate model
 * into --out: `<name>-<version>.json` (the base network, one more learned head), acceptance.json,
 * consensus.json, model-card.md, learn-report.json (and annotations.csv, the store export, with
 * --from-store). Steps: src/tools/learn/run-learn.ts; docs/tools.md "Learning a pattern".
 * Exit 0 accepted, 1 refused (every file still written, the reasons printed), 2 bad usage, a missing
 * file, an unknown or already assessed pattern (without --replace), or a broken model.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { loadManifest } from '../../model/manifest.ts';
import { openModel } from '../../model/session.ts';
import { readAnnotationSheet } from '../learn/annotation-source.ts';
import { openFeatureCache } from '../learn/feature-cache.ts';
import { readGroups } from '../learn/groups-file.ts';
import { LEARN_USAGE, readLearnOptions } from '../learn/learn-options.ts';
import { createProgress } from '../learn/progress.ts';
import { checkPattern, runLearn } from '../learn/run-learn.ts';
import { runCli } from './cli-run.ts';

async function requireDirectory(path: string, flag: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isDirectory()) {
    throw new OperationOutcomeError(badRequest(`${path} is not a folder`, flag));
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = readLearnOptions(argv, process.env);
  await requireDirectory(opts.images, '--images');
  // Usage problems first: no network is loaded for a pattern that cannot be learned.
  const base = await loadManifest(opts.base);
  checkPattern(base, opts.pattern, opts.replace);
  const groups = await readGroups(opts.groups);
  const sheet = await readAnnotationSheet(opts.annotations);
  const model = await openModel(opts.base, { pooledFeatures: true });
  try {
    const features = model.manifest.outputs.features;
    if (!features) {
      throw new OperationOutcomeError(badRequest('the base model has no features output to learn from', 'manifest.outputs.features'));
    }
    const result = await runLearn(
      {
        model,
        cache: openFeatureCache(opts.cache, model.manifest, features.shape[1]),
        progress: (label, total) => createProgress(label, total),
        now: new Date(),
        concurrency: 4,
      },
      opts,
      sheet,
      groups,
    );
    await mkdir(opts.out, { recursive: true });
    const files = opts.annotations.kind === 'store' ? { 'annotations.csv': sheet.text, ...result.files } : result.files;
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(opts.out, name), text);
    }
    process.stdout.write(`${result.summary}\nwritten to ${opts.out}: ${Object.keys(files).join(', ')}\n`);
    return result.accepted ? 0 : 1;
  } finally {
    await model.close();
  }
}

runCli('learn', LEARN_USAGE, main);
