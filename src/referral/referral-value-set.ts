import { readJsonFile } from '../common/read-json-file.ts';
import { resolve } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';

export const DEFAULT_REFERRAL_CODES = resolve(PROJECT_ROOT, 'cds-hooks/referral-codes.json');

/**
 * SNOMED CT 394582007 |Dermatology|, the specialty. In ServiceRequest.performerType it always means
 * "refer to dermatology", so it matches even when a hospital's configured file omits it: a local
 * value set may add codes, never silently turn off the one every EHR can send.
 */
export const DERMATOLOGY_SPECIALTY = { system: 'http://snomed.info/sct', code: '394582007' } as const;

/** No whitespace: a stray space would make a code that silently never matches. */
const token = z.string().regex(/^\S+$/, 'must be non-empty without whitespace');

const referralCode = z.object({
  system: token,
  code: token,
  display: z.string().optional(),
  /** The element the file's owner had in mind (informative: every listed code matches anywhere). */
  element: z.string().optional(),
  /** Where a person checked the code (terminology browser, value set); kept for audit. */
  verifiedFrom: z.string().optional(),
});

/**
 * Two layouts are read: a flat `codes` list, and the split the terminology owner keeps
 * (`specialties` for performerType, `referralProcedures` for code). They are merged into one list.
 * Unknown keys (`$comment`, `notIncluded`) are dropped, not refused: the owner may annotate the file.
 */
const referralValueSetSchema = z
  .object({
    codes: z.array(referralCode).optional(),
    specialties: z.array(referralCode).optional(),
    referralProcedures: z.array(referralCode).optional(),
  })
  .refine((v) => v.codes !== undefined || v.specialties !== undefined || v.referralProcedures !== undefined, {
    error: 'needs a codes list (or specialties / referralProcedures)',
  })
  .transform((v) => ({ codes: [...(v.codes ?? []), ...(v.specialties ?? []), ...(v.referralProcedures ?? [])] }));

export type ReferralCode = Readonly<z.infer<typeof referralCode>>;

/** The codes that make a ServiceRequest a dermatology referral (cds-hooks/referral-codes.json). */
export interface ReferralValueSet {
  readonly codes: readonly ReferralCode[];
}

/** Validates a parsed value set file; a wrong shape is an OperationOutcomeError naming the element. */
export function parseReferralValueSet(json: unknown, source = 'referral-codes.json'): ReferralValueSet {
  return parseOrThrow(referralValueSetSchema, json, source);
}

export async function loadReferralValueSet(path: string = DEFAULT_REFERRAL_CODES): Promise<ReferralValueSet> {
  return parseReferralValueSet(await readJsonFile(path, 'referral value set'), path);
}

/** True when the coding carries a system and code listed in the value set. Tolerates `{}` codings. */
export function isReferralCoding(valueSet: ReferralValueSet, coding: unknown): boolean {
  const sc = systemAndCode(coding);
  return sc !== undefined && valueSet.codes.some((c) => c.system === sc.system && c.code === sc.code);
}

export function isDermatologySpecialty(coding: unknown): boolean {
  const sc = systemAndCode(coding);
  return sc?.system === DERMATOLOGY_SPECIALTY.system && sc.code === DERMATOLOGY_SPECIALTY.code;
}

function systemAndCode(coding: unknown): { system: string; code: string } | undefined {
  if (typeof coding !== 'object' || coding === null || !('system' in coding) || !('code' in coding)) {
    return undefined;
  }
  const { system, code } = coding;
  return typeof system === 'string' && typeof code === 'string' ? { system, code } : undefined;
}
