/**
 * The service as createService builds it (real model, rules, in-memory feedback store) in
 * production mode, with captured log lines, plus the hook bodies the security, fault and fuzz
 * tests send.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Media, ServiceRequest } from 'fhir/r4';
import type { TrustedIssuer } from '../../src/cds/auth/trusted-issuers.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import type { ServiceConfig } from '../../src/config.ts';

export const PUBLIC_BASE_URL = 'https://cds.example.org';
export const ORDER_SIGN = 'bcc-triage-order-sign';
export const SNOMED = 'http://snomed.info/sct';

export interface TestService {
  readonly service: Service;
  readonly logs: string[];
  stop(): Promise<void>;
}

export async function startTestService(overrides: Partial<ServiceConfig> = {}, trustedIssuers?: readonly TrustedIssuer[]): Promise<TestService> {
  const logs: string[] = [];
  const service = await createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: PUBLIC_BASE_URL, feedbackDbPath: ':memory:', logLevel: 'silent', ...overrides },
    { log: createLogger((line) => logs.push(line), 'info'), ...(trustedIssuers ? { trustedIssuers } : {}) },
  );
  return { service, logs, stop: () => service.close() };
}

export function dermReferral(id: string, patientId: string): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'draft',
    intent: 'order',
    code: { coding: [{ system: SNOMED, code: '308472003', display: 'Referral to dermatologist' }] },
    subject: { reference: `Patient/${patientId}` },
  };
}

export function imageMedia(id: string, referralId: string, patientId: string, bytes: Buffer, contentType = 'image/jpeg'): Media {
  return {
    resourceType: 'Media',
    id,
    status: 'completed',
    basedOn: [{ reference: `ServiceRequest/${referralId}` }],
    subject: { reference: `Patient/${patientId}` },
    content: { contentType, data: bytes.toString('base64'), title: `image ${id}` },
  };
}

export interface HookBody {
  readonly hook: string;
  readonly hookInstance: string;
  readonly fhirServer?: string;
  readonly fhirAuthorization?: { readonly access_token: string; readonly token_type: string };
  readonly context: { readonly userId: string; readonly patientId: string; readonly draftOrders: Bundle };
  readonly prefetch?: Record<string, unknown>;
}

/** An order-sign hook with one dermatology referral; images come in prefetch.images when given. */
export function orderSignHook(opts: { readonly images?: readonly Buffer[]; readonly fhirServer?: string; readonly token?: string; readonly referralId?: string } = {}): HookBody {
  const patientId = 'p1';
  const referralId = opts.referralId ?? 'sr1';
  const referral = dermReferral(referralId, patientId);
  return {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    ...(opts.fhirServer ? { fhirServer: opts.fhirServer } : {}),
    ...(opts.token ? { fhirAuthorization: { access_token: opts.token, token_type: 'Bearer' } } : {}),
    context: { userId: 'Practitioner/1', patientId, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: referral }] } },
    ...(opts.images
      ? {
          prefetch: {
            images: {
              resourceType: 'Bundle',
              type: 'searchset',
              entry: opts.images.map((b, k) => ({ resource: imageMedia(`m${k}`, referralId, patientId, b) })),
            },
          },
        }
      : {}),
  };
}

/** An order-sign hook without any dermatology referral: answered with no cards, no model run. */
export function noReferralHook(): HookBody {
  return {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    context: {
      userId: 'Practitioner/1',
      patientId: 'p1',
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'MedicationRequest', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } } }] },
    },
  };
}
