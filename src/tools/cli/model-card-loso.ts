/**
 * npm run model-card-loso -- --loso <loso.json> [--manifest models/bcc-mtl-mnv2.json] [--recipe <text>] [--dry-run]
 *
 * Writes the manifest's `loso` section (src/model/loso-card.ts) from a training run's
 * leave-one-source-out results (training/results/<date>/loso-<recipe>/loso.json): per held-out
 * source BCC AUC, triage sensitivity/specificity at the threshold from the training sources, gate
 * acceptance of the dermoscopic images and refusal of the clinical photos, pigment-network
 * detection at 90% specificity and heatmap localisation, each judged against issue #21's targets.
 * The model card (/model-card, the AI-ModelCard document, docs/model.md) shows it beside the grouped
 * out-of-fold figures. The run is a re-fit of the recipe, not the shipped weights: the section says so.
 * Only the `loso` key changes; the rest of the file (sha256, file, version) stays byte for byte.
 * Exit 0 when written (or printed with --dry-run); 2 on bad usage or an unreadable file.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { UsageError, parseFlags, runCli } from './cli-run.ts';
import { PROJECT_ROOT } from '../../config.ts';
import { buildLosoCard, parseLosoRun, withLosoSection } from '../../model/loso-card.ts';
import { parseManifest } from '../../model/manifest.ts';

const USAGE = 'usage: npm run model-card-loso -- --loso <loso.json> [--manifest models/bcc-mtl-mnv2.json] [--recipe <text>] [--dry-run]';

const FLAGS = {
  loso: { type: 'string' },
  manifest: { type: 'string', default: 'models/bcc-mtl-mnv2.json' },
  recipe: { type: 'string', default: 'training/config.json: the recipe of 1.5.0 (the network this version ships)' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

const FIT = 'a re-fit of the recipe per held-out source (trained on the other sources, same epochs, one pass instead of the four test-time flips), not the shipped weights';

async function main(argv: readonly string[]): Promise<number> {
  const values = parseFlags(argv, FLAGS);
  if (values.help) {
    throw new UsageError('');
  }
  if (values.loso === undefined) {
    throw new UsageError('--loso <loso.json> is required');
  }
  const losoPath = resolve(values.loso);
  const losoBytes = await readFile(losoPath);
  const card = buildLosoCard(parseLosoRun(JSON.parse(losoBytes.toString('utf8'))), {
    recipe: values.recipe,
    fit: FIT,
    from: relative(PROJECT_ROOT, losoPath),
    fromSha256: createHash('sha256').update(losoBytes).digest('hex'),
  });
  if (values['dry-run']) {
    process.stdout.write(`${JSON.stringify(card, null, 2)}\n`);
    return 0;
  }
  const manifestPath = resolve(values.manifest);
  const manifestText = await readFile(manifestPath, 'utf8');
  const before = parseManifest(JSON.parse(manifestText), manifestPath);
  const next = withLosoSection(manifestText, card);
  const after = parseManifest(JSON.parse(next), manifestPath);
  if (after.sha256 !== before.sha256 || after.file !== before.file || after.version !== before.version) {
    throw new Error('writing the loso section would change the manifest\'s file, sha256 or version');
  }
  await writeFile(manifestPath, next);
  process.stdout.write(`${manifestPath}: loso from ${card.from} (${Object.keys(card.heldOut).join(', ')} held out)\n`);
  return 0;
}

runCli('model-card-loso', USAGE, main);
