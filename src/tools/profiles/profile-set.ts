import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { PROJECT_ROOT } from '../../config.ts';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { IG_RESOURCE_DIR } from './ig-build-record.ts';

/** SUSHI's output (`npm run profiles`), committed: nothing is compiled at run time. */
export const DEFAULT_PROFILE_DIR = resolve(PROJECT_ROOT, 'fhir-profiles/fsh-generated/resources');
/**
 * Ours, then the HL7 AI Transparency IG's (`npm run ig`, committed): every profile the service's
 * resources claim is loaded and checked.
 */
export const DEFAULT_PROFILE_DIRS: readonly string[] = [DEFAULT_PROFILE_DIR, IG_RESOURCE_DIR];

/** Our conformance resources, by canonical URL (no version). */
export interface ProfileSet {
  readonly structureDefinitions: ReadonlyMap<string, StructureDefinition>;
  readonly valueSets: ReadonlyMap<string, ValueSet>;
  readonly codeSystems: ReadonlyMap<string, CodeSystem>;
}

type Conformance = StructureDefinition | ValueSet | CodeSystem;

function isConformance(v: unknown): v is Conformance {
  if (typeof v !== 'object' || v === null) {
    return false;
  }
  const { resourceType, url } = v as { resourceType?: unknown; url?: unknown };
  return (resourceType === 'StructureDefinition' || resourceType === 'ValueSet' || resourceType === 'CodeSystem') && typeof url === 'string';
}

/** Reads every StructureDefinition, ValueSet and CodeSystem JSON file of each dir; profiles must carry a snapshot. */
export async function loadProfileSet(dirs: string | readonly string[] = DEFAULT_PROFILE_DIRS): Promise<ProfileSet> {
  const structureDefinitions = new Map<string, StructureDefinition>();
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const dir of typeof dirs === 'string' ? [dirs] : dirs) {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    } catch (err) {
      throw new OperationOutcomeError(badRequest(`cannot read profile directory ${dir} (run npm run profiles, or npm run ig)`), err);
    }
    for (const file of files) {
      const json: unknown = JSON.parse(await readFile(join(dir, file), 'utf8'));
      if (!isConformance(json) || !json.url) {
        continue;
      }
      switch (json.resourceType) {
        case 'StructureDefinition':
          if (!json.snapshot?.element?.length) {
            throw new OperationOutcomeError(badRequest(`${file} has no snapshot (build with sushi --snapshot)`, 'StructureDefinition.snapshot'));
          }
          structureDefinitions.set(json.url, json);
          break;
        case 'ValueSet':
          valueSets.set(json.url, json);
          break;
        case 'CodeSystem':
          codeSystems.set(json.url, json);
          break;
      }
    }
  }
  return { structureDefinitions, valueSets, codeSystems };
}
