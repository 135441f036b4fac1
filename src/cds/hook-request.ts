import { z } from 'zod';
import { parseOrThrow } from '../common/validation-outcome.ts';

/**
 * CDS Hooks 2.0 request (https://cds-hooks.hl7.org/2.0/#http-request). Liberal where the meaning is
 * clear: the official sandbox sends draftOrders Bundles without `type`, and often no fhirAuthorization.
 */
const fhirAuthorization = z.object({
  access_token: z.string().min(1),
  token_type: z.string().min(1),
  expires_in: z.number().optional(),
  scope: z.string().optional(),
  subject: z.string().optional(),
  patient: z.string().optional(),
});

const bundleLike = z
  .object({ resourceType: z.literal('Bundle'), entry: z.array(z.object({ resource: z.unknown().optional() }).loose()).optional() })
  .loose();

const context = z
  .object({
    userId: z.string().min(1),
    patientId: z.string().min(1),
    encounterId: z.string().optional(),
    draftOrders: bundleLike,
    selections: z.array(z.string()).optional(),
  })
  .loose();

const hookRequest = z
  .object({
    hook: z.string().min(1),
    hookInstance: z.string().min(1),
    fhirServer: z.url().optional(),
    fhirAuthorization: fhirAuthorization.nullish(),
    context,
    prefetch: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();

export type HookRequest = Readonly<z.infer<typeof hookRequest>>;

/** Validates a hook body; a wrong shape is a 400 naming each element at fault. */
export function parseHookRequest(body: unknown): HookRequest {
  return parseOrThrow(hookRequest, body);
}
