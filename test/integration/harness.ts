/**
 * What every integration test file shares: one FHIR R4 server process (the EHR's server), one
 * service built by createService exactly as `npm start` builds it in production mode (real model,
 * real rules, real SQLite feedback store in a temp dir), captured log lines, FHIR seeding over
 * HTTP, hook calls over HTTP (supertest), and the checks every returned card must pass.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, BundleEntry, FhirResource, Media, OperationOutcome, Patient, Resource, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import type { Card, CardAction } from '../../src/cards/card.ts';
import { INDICATORS } from '../../src/cards/card.ts';
import { CARD_NOTICE } from '../../src/cards/card-detail.ts';
import { checkCard } from '../../src/cards/check-card.ts';
import { createService } from '../../src/service/create-service.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_CONFIG } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import type { Service } from '../../src/service/create-service.ts';
import { createLogger } from '../../src/common/logger.ts';
import { startFhirServerProcess } from '../support/fhir-process.ts';
import type { FhirServerProcess } from '../support/fhir-process.ts';
import { loadDefaultValidator } from '../../src/tools/profiles/validate-resource.ts';
import type { ResourceValidator } from '../../src/tools/profiles/resource-validator.ts';
import { errorIssues, formatIssue } from '../../src/tools/profiles/validation-issues.ts';
import { isRecord } from '../../src/common/is-record.ts';

export const ORDER_SIGN = 'bcc-triage-order-sign';
export const ORDER_SELECT = 'bcc-triage-order-select';
const FHIR_JSON = 'application/fhir+json';
const SNOMED = 'http://snomed.info/sct';

export interface Harness {
  readonly fhirBaseUrl: string;
  readonly service: Service;
  /** Every log line the service wrote, level info and up. */
  readonly logs: readonly string[];
  /** The bearer token hooks in this file send; it must never show up in a card or a log line. */
  readonly token: string;
  /** The published profiles: every resource a card offers must conform (issue 4). */
  readonly validator: ResourceValidator;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /**
   * What the model's own gate does with the synthetic test drawings, which it rightly calls out of
   * distribution: `warn` (default) lets these tests exercise the hook; `reject` is production.
   */
  readonly modelChecks?: 'warn' | 'reject';
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-int-'));
  const fhir: FhirServerProcess = await startFhirServerProcess();
  const logs: string[] = [];
  let service: Service;
  try {
    service = await createService(
      { ...DEFAULT_CONFIG, mode: 'production', allowedFhirServers: [fhir.baseUrl], feedbackDbPath: join(dir, 'feedback.sqlite'), logLevel: 'silent' },
      { log: createLogger((line) => logs.push(line), 'info'), gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), opts.modelChecks ?? 'warn') },
    );
  } catch (err) {
    await fhir.stop();
    throw err;
  }
  const validator = await loadDefaultValidator();
  return {
    fhirBaseUrl: fhir.baseUrl,
    service,
    logs,
    validator,
    token: `int-test-token-${randomUUID()}`,
    async stop() {
      await service.close();
      await fhir.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- FHIR server, over HTTP

export async function fhirRequest<T extends Resource>(h: Pick<Harness, 'fhirBaseUrl'>, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${h.fhirBaseUrl}/${path}`, {
    method,
    headers: { accept: FHIR_JSON, ...(body === undefined ? {} : { 'content-type': FHIR_JSON }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export async function create<T extends FhirResource>(h: Pick<Harness, 'fhirBaseUrl'>, resource: T): Promise<T & { id: string }> {
  const { status, body } = await fhirRequest<T>(h, 'POST', resource.resourceType, resource);
  assert.equal(status, 201, `create ${resource.resourceType}: ${JSON.stringify(body)}`);
  assert.ok(body.id, `created ${resource.resourceType} has an id`);
  return { ...body, id: body.id };
}

export async function read<T extends Resource>(h: Pick<Harness, 'fhirBaseUrl'>, reference: string): Promise<{ status: number; body: T }> {
  return fhirRequest<T>(h, 'GET', reference);
}

export async function search(h: Pick<Harness, 'fhirBaseUrl'>, query: string): Promise<Bundle> {
  const { status, body } = await fhirRequest<Bundle>(h, 'GET', query);
  assert.equal(status, 200, `GET ${query}: ${JSON.stringify(body)}`);
  assert.equal(body.resourceType, 'Bundle');
  return body;
}

// ---------------------------------------------------------------- clinical data

export async function createPatient(h: Pick<Harness, 'fhirBaseUrl'>): Promise<Patient & { id: string }> {
  return create<Patient>(h, { resourceType: 'Patient', name: [{ family: `Int${randomUUID().slice(0, 8)}`, given: ['Alex'] }], birthDate: '1948-03-01' });
}

/** A draft dermatology referral: code "Referral to dermatologist", performer type Dermatology. */
export function dermReferral(patientId: string, extra: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: SNOMED, code: '308472003', display: 'Referral to dermatologist' }] },
    performerType: { coding: [{ system: SNOMED, code: '394582007', display: 'Dermatology' }] },
    subject: { reference: `Patient/${patientId}` },
    reasonCode: [{ text: 'Pearly papule, slowly growing' }],
    ...extra,
  };
}

/** A draft cardiology referral: nothing in it is in the dermatology value set. */
export function cardiologyReferral(patientId: string): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    code: { coding: [{ system: SNOMED, code: '183519002', display: 'Referral to cardiology service' }] },
    performerType: { coding: [{ system: SNOMED, code: '394579002', display: 'Cardiology' }] },
    subject: { reference: `Patient/${patientId}` },
  };
}

export interface ImageContent {
  readonly title: string;
  /** Inline bytes (Attachment.data), or */
  readonly bytes?: Buffer;
  /** a URL (Attachment.url), e.g. `Binary/<id>`. */
  readonly url?: string;
}

export function imageMedia(patientId: string, referralId: string, img: ImageContent): Media {
  return {
    resourceType: 'Media',
    status: 'completed',
    basedOn: [{ reference: `ServiceRequest/${referralId}` }],
    subject: { reference: `Patient/${patientId}` },
    modality: { text: 'Dermoscopy' },
    content: {
      contentType: 'image/jpeg',
      title: img.title,
      ...(img.bytes ? { data: img.bytes.toString('base64') } : {}),
      ...(img.url ? { url: img.url } : {}),
    },
  };
}

/** The `images` prefetch as the EHR fills it from the services.json template `Media?patient={{context.patientId}}&_count=50`. */
export async function imagesPrefetch(h: Pick<Harness, 'fhirBaseUrl'>, patientId: string): Promise<Bundle> {
  return search(h, `Media?patient=${patientId}&_count=50`);
}

// ---------------------------------------------------------------- hooks, over HTTP

export interface HookCall {
  readonly hook?: 'order-sign' | 'order-select';
  readonly patientId: string;
  readonly draftOrders: readonly Resource[];
  readonly selections?: readonly string[];
  readonly prefetch?: Readonly<Record<string, unknown>>;
  /** FHIR base the service may search; sent with the harness token. */
  readonly fhirServer?: string;
}

export function hookBody(h: Pick<Harness, 'token'>, call: HookCall): Record<string, unknown> {
  return {
    hook: call.hook ?? 'order-sign',
    hookInstance: randomUUID(),
    ...(call.fhirServer ? { fhirServer: call.fhirServer, fhirAuthorization: { access_token: h.token, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'bcc-cds' } } : {}),
    context: {
      userId: 'Practitioner/int-1',
      patientId: call.patientId,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: call.draftOrders.map((resource) => ({ resource })) },
      ...(call.selections ? { selections: call.selections } : {}),
    },
    ...(call.prefetch ? { prefetch: call.prefetch } : {}),
  };
}

/** POSTs a body to a hook and checks what must hold for any answer: no token in the reply or in any log line. */
export async function postHook(h: Harness, serviceId: string, body: object): Promise<Response> {
  const res = await request(h.service.app).post(`/cds-services/${serviceId}`).send(body);
  assert.ok(!res.text.includes(h.token), 'the access token is not in the response');
  assertNoTokenInLogs(h);
  return res;
}

export async function callHook(h: Harness, call: HookCall, serviceId = call.hook === 'order-select' ? ORDER_SELECT : ORDER_SIGN): Promise<Response> {
  return postHook(h, serviceId, hookBody(h, call));
}

export function assertNoTokenInLogs(h: Harness): void {
  const leaking = h.logs.filter((l) => l.includes(h.token));
  assert.deepEqual(leaking, [], 'no log line carries the access token');
}

/** 200 with `{ cards }`; every card passes `assertCard`. */
export function cardsOf(h: Harness, res: Response): Card[] {
  assert.equal(res.status, 200, `hook answered ${res.status}: ${res.text}`);
  const body: unknown = res.body;
  assert.ok(isRecord(body) && Array.isArray(body.cards), `a { cards } body: ${res.text}`);
  return body.cards.map((c: unknown) => assertCard(h, c));
}

/**
 * What every card must be: valid CDS Hooks 2.0 (checkCard), a summary under 140 characters, a
 * spec indicator, a detail that says it is decision support and names the model and its version,
 * and no access token anywhere in it.
 */
export function assertCard(h: Harness, card: unknown): Card {
  assert.deepEqual(checkCard(card), [], `card is valid CDS Hooks 2.0: ${JSON.stringify(card)}`);
  assert.ok(isCard(card));
  assert.ok(Array.from(card.summary).length < 140, `summary under 140 characters: ${card.summary}`);
  assert.ok((INDICATORS as readonly string[]).includes(card.indicator), `indicator ${card.indicator}`);
  const detail = card.detail ?? '';
  assert.ok(detail.includes(CARD_NOTICE), `detail says it is decision support: ${detail}`);
  const m = h.service.model.manifest;
  assert.ok(detail.includes(`${m.name} ${m.version}`), `detail names the model version ${m.name} ${m.version}: ${detail}`);
  assert.ok(!JSON.stringify(card).includes(h.token), 'the access token is not in the card');
  assertResourcesConform(h, card);
  return card;
}

/** Every resource the card offers (create/update actions) validates: ours against our profiles, the referral update against R4. */
function assertResourcesConform(h: Harness, card: Card): void {
  for (const s of card.suggestions ?? []) {
    for (const a of s.actions ?? []) {
      if (!a.resource) {
        continue;
      }
      const ours = a.type === 'create';
      const outcome = h.validator.validateResource(a.resource, { requireProfile: ours });
      const errors = errorIssues(outcome).map(formatIssue);
      assert.deepEqual(errors, [], `${s.label}: ${a.type} ${String((a.resource as { resourceType?: unknown }).resourceType)} conforms`);
    }
  }
}

function isCard(x: unknown): x is Card {
  return checkCard(x).length === 0;
}

export function assertOutcome(res: Response, status: number): OperationOutcome {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
  const body: unknown = res.body;
  assert.ok(isOutcome(body) && body.issue.length > 0, `an OperationOutcome: ${res.text}`);
  return body;
}

function isOutcome(x: unknown): x is OperationOutcome {
  return isRecord(x) && x.resourceType === 'OperationOutcome' && Array.isArray(x.issue);
}

/** Every `expression` of every issue. */
export function expressions(o: OperationOutcome): string[] {
  return o.issue.flatMap((i) => i.expression ?? []);
}

// ---------------------------------------------------------------- reading cards

/** Image sections in the card detail, by their headings (`#### Image 2: Nose`). */
export function imageHeadings(card: Card): string[] {
  return (card.detail ?? '').split('\n').filter((l) => l.startsWith('#### Image '));
}

export const SAVE_LABEL = 'Save AI triage report to the chart';

export function saveActions(card: Card): readonly CardAction[] {
  const save = card.suggestions?.find((s) => s.label === SAVE_LABEL);
  assert.ok(save?.actions?.length, `card offers "${SAVE_LABEL}"`);
  return save.actions;
}

export function createdResources(card: Card): FhirResource[] {
  return saveActions(card).map((a) => {
    assert.equal(a.type, 'create');
    assert.ok(a.resource, 'a create action carries its resource');
    return a.resource;
  });
}

export function resourcesOf<K extends FhirResource['resourceType']>(resources: readonly FhirResource[], type: K): Extract<FhirResource, { resourceType: K }>[] {
  return resources.filter((r): r is Extract<FhirResource, { resourceType: K }> => r.resourceType === type);
}

export function entryResources(bundle: Bundle): FhirResource[] {
  return (bundle.entry ?? []).flatMap((e: BundleEntry) => (e.resource ? [e.resource] : []));
}
