/**
 * MemoryRepository with the two things a test stand-in for a hospital FHIR server needs and Medplum's
 * in-memory repository lacks: structural validation on write, and a stable history order.
 */
import { validateResource } from '@medplum/core';
import type { WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { CreateResourceOptions } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { ensureFhirDefinitions } from './definitions.ts';

/**
 * The validator caps base64Binary at 1 MiB by default; dermoscopy images travel base64 in
 * Media.content.data / Binary.data, bounded instead by the HTTP body limit (50 MB of JSON).
 */
const BASE64_BINARY_MAX_BYTES = 50 * 1024 * 1024;

export class ValidatingMemoryRepository extends MemoryRepository {
  /** versionIds per `Type/id`, oldest first: MemoryRepository.readHistory reverses its list in place on every call. */
  private readonly versionOrder = new Map<string, string[]>();

  /**
   * Every write path (create, update, patch, conditional and batch/transaction entries) ends here, so
   * validating here rejects invalid resources everywhere; MemoryRepository itself stores anything.
   * Throws OperationOutcomeError (HTTP 400 via getStatus) with the validator's issues.
   */
  override async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions, update = false): Promise<WithId<T>> {
    validateResource(resource, { base64BinaryMaxBytes: BASE64_BINARY_MAX_BYTES });
    const stored = await super.createResource(resource, options, update);
    const key = `${stored.resourceType}/${stored.id}`;
    const versions = this.versionOrder.get(key) ?? [];
    if (stored.meta?.versionId) {
      versions.push(stored.meta.versionId);
    }
    this.versionOrder.set(key, versions);
    return stored;
  }

  /** Newest version first, as FHIR history requires, whatever order the base class returns. */
  override async readHistory<T extends Resource>(resourceType: string, id: string): Promise<Bundle<T>> {
    const bundle = await super.readHistory<T>(resourceType, id);
    const order = this.versionOrder.get(`${resourceType}/${id}`) ?? [];
    const rank = (entry: BundleEntry<T>): number => order.indexOf(entry.resource?.meta?.versionId ?? '');
    const entry = bundle.entry ? [...bundle.entry].sort((a, b) => rank(b) - rank(a)) : undefined;
    return entry ? { ...bundle, entry } : bundle;
  }

  override clear(): void {
    super.clear();
    this.versionOrder.clear();
  }
}

/** A fresh, empty repository (R4 definitions loaded) that a process can seed before serving it. */
export function createFhirRepository(): ValidatingMemoryRepository {
  ensureFhirDefinitions();
  return new ValidatingMemoryRepository();
}
