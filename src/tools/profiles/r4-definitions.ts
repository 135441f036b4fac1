import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, isDataTypeLoaded } from '@medplum/core';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { TYPES_FILE, TYPE_NAME, bundleResources, isStructureDefinition, r4CacheDir } from './r4-cache.ts';

let state: { readonly dir: string } | 'everything' | undefined;

/**
 * Makes sure Medplum's process-wide schema knows the R4 data types and the given resource types
 * (plus Resource and DomainResource), read from the split cache (r4-cache.ts). Unknown names are
 * skipped: the caller reports an unknown resource type. Without a cache, all of R4 is indexed.
 */
export function ensureR4Types(resourceTypes: Iterable<string>): void {
  if (state === 'everything') {
    return;
  }
  if (!state) {
    const dir = r4CacheDir();
    if (!dir) {
      indexStructureDefinitionBundle(bundleResources('fhir/r4/profiles-types.json').filter(isStructureDefinition));
      indexStructureDefinitionBundle(bundleResources('fhir/r4/profiles-resources.json').filter(isStructureDefinition));
      state = 'everything';
      return;
    }
    indexStructureDefinitionBundle(JSON.parse(readFileSync(join(dir, TYPES_FILE), 'utf8')) as StructureDefinition[]);
    state = { dir };
  }
  for (const type of ['Resource', 'DomainResource', ...resourceTypes]) {
    if (!TYPE_NAME.test(type) || isDataTypeLoaded(type)) {
      continue;
    }
    const file = join(state.dir, `${type}.json`);
    if (existsSync(file)) {
      indexStructureDefinitionBundle([JSON.parse(readFileSync(file, 'utf8')) as StructureDefinition]);
    }
  }
}

/** Every `resourceType` in a JSON document: the resource, Bundle entries, contained resources. */
export function resourceTypesIn(json: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(json)) {
    json.forEach((v: unknown) => resourceTypesIn(v, out));
  } else if (typeof json === 'object' && json !== null) {
    for (const [k, v] of Object.entries(json)) {
      if (k === 'resourceType' && typeof v === 'string') {
        out.add(v);
      } else if (typeof v === 'object') {
        resourceTypesIn(v, out);
      }
    }
  }
  return out;
}
