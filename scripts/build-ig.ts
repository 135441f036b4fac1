/**
 * Builds the HL7 AI Transparency IG's profiles, extensions, value sets and code systems from its
 * FSH sources (../shared/standards/hl7-aitransparency-ig, CC0) with the project's SUSHI, offline,
 * into fhir-profiles/aitransparency/ (committed, like fhir-profiles/fsh-generated), with build.json
 * recording the upstream commit, a digest of the sources and a digest of every file written.
 *
 *   node --import tsx scripts/build-ig.ts [--source <dir>] [--out <dir>] [--check]
 *
 * The build works on a temporary copy. Its sushi-config.yaml drops the one dependency,
 * hl7.fhir.uv.security-label-ds4p: only an example uses it, as a URL string, and it is not in the
 * offline cache (../shared/standards/README.md). Kept: StructureDefinition, ValueSet, CodeSystem;
 * not kept: the IG's examples and its ImplementationGuide resource. `--check` builds into a
 * temporary folder and compares with the committed one (exit 1 when they differ).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../src/config.ts';
import type { IgBuildRecord } from '../src/tools/profiles/ig-build-record.ts';
import { IG_DEFAULT_SOURCE, IG_DIR, digestResourceDir, readIgBuildRecord, sourceCommit, sourceDigest } from '../src/tools/profiles/ig-build-record.ts';

const run = promisify(execFile);
const KEPT = ['StructureDefinition', 'ValueSet', 'CodeSystem'] as const;
const DROPPED_DEPENDENCY = 'hl7.fhir.uv.security-label-ds4p';
const SUSHI = resolve(PROJECT_ROOT, 'node_modules/.bin/sushi');

async function copyTree(from: string, to: string): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      await mkdir(dst, { recursive: true });
      await copyTree(src, dst);
    } else if (e.isFile()) {
      // Bytes only: the shared copy is read-only, and the temporary one must be removable.
      await writeFile(dst, await readFile(src));
    }
  }
}

/** The build-time config: the IG's, without the example-only dependency. */
async function writeBuildConfig(source: string, work: string): Promise<string[]> {
  const doc = parseDocument(await readFile(join(source, 'sushi-config.yaml'), 'utf8'));
  const deps = doc.get('dependencies') as { has?: (k: string) => boolean } | undefined;
  const changes: string[] = [];
  if (deps?.has?.(DROPPED_DEPENDENCY)) {
    doc.deleteIn(['dependencies', DROPPED_DEPENDENCY]);
    changes.push(`dependencies.${DROPPED_DEPENDENCY} dropped: used only by an example (Labeling.fsh, as a URL string); not in the offline package cache`);
    const rest = doc.get('dependencies') as { items?: unknown[] } | undefined;
    if (!rest?.items?.length) {
      doc.delete('dependencies');
    }
  }
  await writeFile(join(work, 'sushi-config.yaml'), doc.toString());
  return changes;
}

async function sushiVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(resolve(PROJECT_ROOT, 'node_modules/fsh-sushi/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Builds into `out` (resources/ + build.json); returns the record. */
async function build(source: string, out: string): Promise<IgBuildRecord> {
  // SUSHI reads hl7.fhir.r4.core#4.0.1 from ~/.fhir/packages; seeding is a no-op when it is there.
  await run(process.execPath, ['--import', 'tsx', resolve(PROJECT_ROOT, 'scripts/seed-fhir-cache.ts')], { cwd: PROJECT_ROOT });
  const work = await mkdtemp(join(tmpdir(), 'bcc-ig-'));
  try {
    await mkdir(join(work, 'input'), { recursive: true });
    await copyTree(join(source, 'input'), join(work, 'input'));
    const configChanges = await writeBuildConfig(source, work);
    let log: string;
    try {
      log = (await run(SUSHI, ['build', '--snapshot', work], { cwd: work, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`sushi failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    const errors = /(\d+) Errors?/.exec(log);
    if (errors?.[1] !== '0') {
      throw new Error(`sushi reported errors:\n${log}`);
    }
    const generated = join(work, 'fsh-generated', 'resources');
    const resourcesOut = join(out, 'resources');
    await rm(resourcesOut, { recursive: true, force: true });
    await mkdir(resourcesOut, { recursive: true });
    const config = parseDocument(await readFile(join(source, 'sushi-config.yaml'), 'utf8')).toJS() as { id: string; version: string; canonical: string };
    for (const f of (await readdir(generated)).sort()) {
      const json = JSON.parse(await readFile(join(generated, f), 'utf8')) as { resourceType?: string };
      if ((KEPT as readonly (string | undefined)[]).includes(json.resourceType)) {
        await writeFile(join(resourcesOut, f), `${JSON.stringify(json, null, 2)}\n`);
      }
    }
    const src = await sourceDigest(source);
    const record: IgBuildRecord = {
      packageId: config.id,
      version: config.version,
      canonical: config.canonical,
      source: { repository: 'https://github.com/HL7/aitransparency-ig', commit: await sourceCommit(source), digest: src.digest, files: src.files },
      build: { tool: `fsh-sushi ${await sushiVersion()} (sushi build --snapshot)`, configChanges, kept: KEPT },
      files: await digestResourceDir(resourcesOut),
    };
    await writeFile(join(out, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    return record;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Lines naming each difference between two records (empty when the builds agree). */
function compareRecords(committed: IgBuildRecord, fresh: IgBuildRecord): string[] {
  const diffs: string[] = [];
  if (committed.source.digest !== fresh.source.digest) {
    diffs.push(`source digest: committed ${committed.source.digest}, sources now ${fresh.source.digest}`);
  }
  if (committed.source.commit !== fresh.source.commit) {
    diffs.push(`source commit: committed ${committed.source.commit}, README now ${fresh.source.commit}`);
  }
  const names = new Set([...Object.keys(committed.files), ...Object.keys(fresh.files)]);
  for (const n of [...names].sort()) {
    if (committed.files[n] !== fresh.files[n]) {
      diffs.push(`resources/${n}: ${committed.files[n] ? (fresh.files[n] ? 'differs' : 'no longer built') : 'not committed'}`);
    }
  }
  return diffs;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { source: { type: 'string' }, out: { type: 'string' }, check: { type: 'boolean', default: false } } });
  const source = resolve(values.source ?? IG_DEFAULT_SOURCE);
  const out = resolve(values.out ?? IG_DIR);
  if (!values.check) {
    const record = await build(source, out);
    process.stdout.write(`build-ig: ${Object.keys(record.files).length} resources in ${relative(PROJECT_ROOT, out) || out} (${record.packageId} ${record.version}, commit ${record.source.commit.slice(0, 12)}, sources ${record.source.digest.slice(0, 12)})\n`);
    return 0;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'bcc-ig-check-'));
  try {
    const fresh = await build(source, tmp);
    const diffs = compareRecords(await readIgBuildRecord(join(out, 'build.json')), fresh);
    for (const d of diffs) {
      process.stdout.write(`build-ig --check: ${d}\n`);
    }
    process.stdout.write(diffs.length ? `build-ig --check: ${relative(PROJECT_ROOT, out)} is not what the sources build (run npm run ig)\n` : `build-ig --check: ${relative(PROJECT_ROOT, out)} is what the sources build\n`);
    return diffs.length ? 1 : 0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`build-ig: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
