import type { ServiceRequest } from 'fhir/r4';
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import { isDermatologySpecialty, isReferralCoding } from './referral-value-set.ts';
import type { ReferralValueSet } from './referral-value-set.ts';
import { isRecord } from '../common/is-record.ts';

/** The hook context fields we read (order-sign, order-select: https://cds-hooks.hl7.org/hooks/). */
export interface OrderContext {
  /** A Bundle of the draft orders. The official sandbox sends it without `Bundle.type`. */
  readonly draftOrders?: unknown;
  /** order-select: the orders the user selected, as `ServiceRequest/<id>`. */
  readonly selections?: readonly string[];
}

/**
 * A matching referral and where it sits in the request. A draft ServiceRequest may have no id; we
 * keep it (a referral without an id is still a referral to triage) rather than invent one, and it
 * is addressed by its position: `where` is always set, `reference` only when there is an id.
 * Such a referral can never be in `selections` and no Media can point at it through `basedOn`.
 */
export interface FoundReferral {
  readonly referral: ServiceRequest;
  /** Element path for messages, e.g. `context.draftOrders.entry[2].resource`. */
  readonly where: string;
  /** `ServiceRequest/<id>` when the referral has an id. */
  readonly reference?: string;
}

/** Dermatology referrals among the draft orders, with where each one is. */
export function findDermatologyReferralEntries(context: OrderContext, valueSet: ReferralValueSet): FoundReferral[] {
  const entries = draftOrderEntries(context.draftOrders);
  const selected = context.selections ? new Set(context.selections) : undefined;
  const found: FoundReferral[] = [];
  entries.forEach((entry, i) => {
    const resource = isRecord(entry) ? entry.resource : undefined;
    if (!isServiceRequest(resource)) {
      return;
    }
    const reference = typeof resource.id === 'string' && resource.id !== '' ? `ServiceRequest/${resource.id}` : undefined;
    if (selected && (reference === undefined || !selected.has(reference))) {
      return;
    }
    if (isDermatologyReferral(resource, valueSet)) {
      found.push({ referral: resource, where: `context.draftOrders.entry[${i}].resource`, ...(reference ? { reference } : {}) });
    }
  });
  return found;
}

/** Dermatology referrals among the draft orders (only the selected ones when `selections` is given). */
export function findDermatologyReferrals(context: OrderContext, valueSet: ReferralValueSet): ServiceRequest[] {
  return findDermatologyReferralEntries(context, valueSet).map((f) => f.referral);
}

/**
 * A referral matches on `code`, any `category` or any `performerType` coding in the value set;
 * SNOMED CT 394582007 (Dermatology) in performerType matches whatever the configured file says.
 * Elements are read defensively: the request is JSON from another system, not a typed resource.
 */
export function isDermatologyReferral(sr: ServiceRequest, valueSet: ReferralValueSet): boolean {
  const inSet = (c: unknown): boolean => isReferralCoding(valueSet, c);
  return (
    codingsOf(sr.code).some(inSet) ||
    concepts(sr.category).some((cc) => codingsOf(cc).some(inSet)) ||
    concepts(sr.performerType).some((cc) => codingsOf(cc).some((c) => inSet(c) || isDermatologySpecialty(c)))
  );
}

function draftOrderEntries(draftOrders: unknown): readonly unknown[] {
  if (!isRecord(draftOrders) || draftOrders.resourceType !== 'Bundle') {
    throw new OperationOutcomeError(badRequest('draftOrders must be a FHIR Bundle', 'context.draftOrders'));
  }
  const entry = draftOrders.entry;
  if (entry === undefined) {
    return [];
  }
  if (!Array.isArray(entry)) {
    throw new OperationOutcomeError(badRequest('Bundle.entry must be an array', 'context.draftOrders.entry'));
  }
  return entry;
}

/** Narrows on resourceType only; every other element is read through the guards below. */
function isServiceRequest(x: unknown): x is ServiceRequest {
  return isRecord(x) && x.resourceType === 'ServiceRequest';
}

/**
 * In R4, category is 0..* and performerType 0..1; both are read as lists so that either shape (and
 * a client that sends performerType as an array) works.
 */
function concepts(x: unknown): readonly unknown[] {
  if (Array.isArray(x)) {
    return x;
  }
  return isRecord(x) ? [x] : [];
}

function codingsOf(concept: unknown): readonly unknown[] {
  if (!isRecord(concept)) {
    return [];
  }
  const coding = concept.coding;
  return Array.isArray(coding) ? coding : [];
}
