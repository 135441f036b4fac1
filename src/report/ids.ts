import { OperationOutcomeError, serverError } from '../common/outcomes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A resource id and the `urn:uuid:` fullUrl that other resources of the same transaction reference. */
export interface AllocatedId {
  readonly id: string;
  readonly fullUrl: string;
}

/**
 * Draws the next id. It must be a UUID: the fullUrl is `urn:uuid:<id>` (RFC 4122 URN), and a
 * non-UUID would make every cross-reference in the transaction invalid, silently.
 */
export function allocateId(newId: () => string): AllocatedId {
  const id = newId();
  if (!UUID.test(id)) {
    throw new OperationOutcomeError(serverError(`newId() returned "${id}", not a UUID`));
  }
  return { id, fullUrl: `urn:uuid:${id}` };
}

export function roundProbability(p: number): number {
  return Number(p.toFixed(4));
}
