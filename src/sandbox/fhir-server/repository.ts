/**
 * MemoryRepository with the two things a test stand-in for a hospital FHIR server needs and Medplum's
 * in-memory repository lacks: structural validation on write, and a stable history order.
 */
import { validateResource } from '@medplum/core';
import type { WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { CreateResourceOptions, DeleteResourceOptions } from '@medplum/fhir-router';
import type { Binary, Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
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
   * The current version of each Binary, for reads. MemoryRepository deep-clones every resource it
   * returns (JSON.stringify + parse), ~10-17 ms for a 2 MP image's base64 on two busy cores, on
   * every image a hook fetches (bench/README.md). The data is an immutable string, so a copy of
   * the resource with its small nested objects cloned is just as safe.
   */
  private readonly binaries = new Map<string, Binary>();

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
    if (isBinary(stored)) {
      this.binaries.set(stored.id, copyBinary(stored));
    }
    return stored;
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    const binary = resourceType === 'Binary' ? this.binaries.get(id) : undefined;
    // The cast is the base class's own contract: the caller names the type it reads.
    return binary ? (copyBinary(binary) as T) : super.readResource<T>(resourceType, id);
  }

  override async deleteResource(resourceType: string, id: string, options?: DeleteResourceOptions): Promise<void> {
    await super.deleteResource(resourceType, id, options);
    if (resourceType === 'Binary') {
      this.binaries.delete(id);
    }
  }

  override async expungeResources(resourceType: string, ids: string[]): Promise<void> {
    await super.expungeResources(resourceType, ids);
    if (resourceType === 'Binary') {
      ids.forEach((id) => this.binaries.delete(id));
    }
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
    this.binaries.clear();
  }
}

function isBinary(resource: Resource): resource is WithId<Binary> {
  return resource.resourceType === 'Binary';
}

/** Top-level fields copied (strings are immutable), nested objects (meta, securityContext) cloned. */
function copyBinary(binary: Binary): Binary {
  const copy: Binary = { ...binary };
  if (binary.meta) {
    copy.meta = structuredClone(binary.meta);
  }
  if (binary.securityContext) {
    copy.securityContext = structuredClone(binary.securityContext);
  }
  return copy;
}

/** A fresh, empty repository (R4 definitions loaded) that a process can seed before serving it. */
export function createFhirRepository(): ValidatingMemoryRepository {
  ensureFhirDefinitions();
  return new ValidatingMemoryRepository();
}
