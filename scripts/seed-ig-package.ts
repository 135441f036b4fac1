/**
 * Lays the committed AI Transparency IG build (fhir-profiles/aitransparency, `npm run ig`) out as
 * the FHIR package hl7.fhir.uv.aitransparency#<version> in the cache SUSHI reads
 * (`~/.fhir/packages`, via os.homedir()), so that our profiles can derive from AI-Device and
 * AI-Provenance offline (fhir-profiles/sushi-config.yaml names it as a dependency). Rewritten on
 * every run from the committed files; a package this script did not write is left alone.
 *
 *   node --import tsx scripts/seed-ig-package.ts [--cache <dir>]
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IG_RESOURCE_DIR, readIgBuildRecord } from '../src/tools/profiles/ig-build-record.ts';

const SEEDED_BY = 'bcc-cds scripts/seed-ig-package.ts from fhir-profiles/aitransparency';

interface Conformance {
  readonly resourceType: string;
  readonly id: string;
  readonly url?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly type?: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { cache: { type: 'string' } } });
  const record = await readIgBuildRecord();
  const root = join(values.cache ?? join(homedir(), '.fhir', 'packages'), `${record.packageId}#${record.version}`);
  const dir = join(root, 'package');
  const packageJsonPath = join(dir, 'package.json');
  if (existsSync(packageJsonPath)) {
    const existing = JSON.parse(await readFile(packageJsonPath, 'utf8')) as { 'x-seeded-by'?: unknown };
    if (existing['x-seeded-by'] !== SEEDED_BY) {
      process.stdout.write(`seed-ig-package: ${root} holds a package this script did not write; left as it is\n`);
      return 0;
    }
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const files: Conformance[] = [];
  const index: Record<string, unknown>[] = [];
  for (const f of (await readdir(IG_RESOURCE_DIR)).filter((n) => n.endsWith('.json')).sort()) {
    const text = await readFile(join(IG_RESOURCE_DIR, f), 'utf8');
    const r = JSON.parse(text) as Conformance;
    await writeFile(join(dir, f), text);
    files.push(r);
    const { resourceType, id, url, version, kind, type } = r;
    index.push({ filename: f, resourceType, id, ...(url ? { url } : {}), ...(version ? { version } : {}), ...(kind ? { kind } : {}), ...(type ? { type } : {}) });
  }
  await writeFile(join(dir, '.index.json'), JSON.stringify({ 'index-version': 2, files: index }));
  const packageJson = {
    name: record.packageId,
    version: record.version,
    type: 'IG',
    canonical: record.canonical,
    fhirVersions: ['4.0.1'],
    dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
    license: 'CC0-1.0',
    description: `Profiles, extensions, value sets and code systems of ${record.packageId}, built by npm run ig from ${record.source.repository} at ${record.source.commit}`,
    'x-seeded-by': SEEDED_BY,
  };
  await writeFile(packageJsonPath, JSON.stringify(packageJson, null, 2));
  process.stdout.write(`seed-ig-package: wrote ${files.length} resources to ${dir}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`seed-ig-package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
