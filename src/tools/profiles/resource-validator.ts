import type { OperationOutcome } from 'fhir/r4';
import type { ResolveReference } from './deferred-slicing.ts';
import type { ValueSetExpander } from './expand-value-set.ts';
import type { ProfileSet } from './profile-set.ts';

export interface ValidateOptions {
  /** Error when meta.profile names none of our profiles: every resource the service writes claims one. */
  readonly requireProfile?: boolean;
  /**
   * Finds a referenced resource (validateBundle: the entry with that fullUrl), so that slices
   * discriminated by the target's profile (AI-Provenance entity:modelCard) and target profiles
   * inside slices can be checked; without it they are reported as not checked.
   */
  readonly resolve?: ResolveReference;
}

/** Validates FHIR R4 JSON against R4 and, by meta.profile, against the BCC-CDS profiles. */
export interface ResourceValidator {
  readonly profiles: ProfileSet;
  readonly expander: ValueSetExpander;
  /**
   * Never throws: every problem is an issue, each naming its element in `expression`. A Bundle is
   * handed to validateBundle, so its entries meet their profiles too.
   */
  validateResource(resource: unknown, options?: ValidateOptions): OperationOutcome;
  /** Each entry as validateResource does, plus the links between entries (see validate-bundle.ts). */
  validateBundle(bundle: unknown, options?: ValidateOptions): OperationOutcome;
  /** The resource alone: a Bundle's entries against R4 only (validateBundle's first step). */
  validateShallow(resource: unknown, options?: ValidateOptions): OperationOutcome;
}
