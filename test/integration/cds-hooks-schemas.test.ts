/**
 * CDS Hooks 2.0 in full (issue #18), checked against JSON Schemas derived from the specification
 * (cds-hooks/schemas/: HL7 publishes none for 2.0; each constraint names its section). Real
 * answers from the service as createService builds it (real model, production mode, a viewer):
 * discovery; order-sign and order-select with an image, with none, with an image the gate refuses,
 * and with systemActions on; the feedback bodies it accepts and refuses. The prefetch templates
 * are held to the spec's token rules and filled from a real FHIR server, as an EHR would.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Media, Patient, ServiceRequest } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import type { Card } from '../../src/cards/card.ts';
import { checkCard } from '../../src/cards/check-card.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, DEFAULT_IMAGE_GATE, PROJECT_ROOT } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { loadTerminology } from '../../src/report/terminology.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { lesionJpeg, solidJpeg } from '../helpers/images.ts';
import { startFhirServerProcess } from '../support/fhir-process.ts';
import type { FhirServerProcess } from '../support/fhir-process.ts';

const SCHEMA = JSON.parse(await readFile(`${PROJECT_ROOT}/cds-hooks/schemas/cds-hooks-2.0.schema.json`, 'utf8')) as { $id: string };
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(SCHEMA);
const schemaOf = (name: string): ValidateFunction => ajv.compile({ $ref: `${SCHEMA.$id}#/$defs/${name}` });
const discoverySchema = schemaOf('DiscoveryResponse');
const responseSchema = schemaOf('ServiceResponse');
const requestSchema = schemaOf('HookRequest');
const feedbackSchema = schemaOf('FeedbackRequest');

function assertValid(validate: ValidateFunction, body: unknown, what: string): void {
  assert.ok(validate(body), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
}

const BASE = 'https://cds.example.org';
const ORDER_SIGN = 'bcc-triage-order-sign';
const ORDER_SELECT = 'bcc-triage-order-select';
const SNOMED = 'http://snomed.info/sct';

/**
 * Prefetch tokens (https://cds-hooks.hl7.org/2.0/#prefetch-tokens): the qualified path to a hook
 * context field that the hook marks as a prefetch token, or one of four user identifiers. In the
 * order-sign and order-select definitions userId, patientId and encounterId are tokens; draftOrders
 * and selections are not (a Bundle and an array cannot stand in a query).
 */
const CONTEXT_TOKENS: Readonly<Record<string, readonly string[]>> = {
  'order-sign': ['userId', 'patientId', 'encounterId'],
  'order-select': ['userId', 'patientId', 'encounterId'],
};
const USER_TOKENS = ['userPractitionerId', 'userPractitionerRoleId', 'userPatientId', 'userRelatedPersonId'];

/** The service with a viewer, as production runs it; the synthetic drawings pass the model's own gate (warn). */
async function startService(systemActions: boolean): Promise<Service> {
  return createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: BASE, feedbackDbPath: ':memory:', logLevel: 'silent', systemActions },
    { log: createLogger(() => undefined, 'info'), gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'), viewerBaseUrl: `${BASE}/viewer` },
  );
}

async function fhir<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: { accept: 'application/fhir+json', ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(res.ok, `${method} ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** What an EHR does with a template: tokens replaced from the hook's context, the query run on its FHIR server. */
function fillTemplate(template: string, context: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{\{([^}]+)\}\}/g, (_, token: string) => {
    const field = token.trim();
    if (field === 'userPractitionerId') {
      return String(context.userId).replace(/^Practitioner\//, '');
    }
    const value = context[field.replace(/^context\./, '')];
    assert.equal(typeof value, 'string', `token ${field} names a string context field`);
    return String(value);
  });
}

interface Scenario {
  readonly patient: Patient & { id: string };
  readonly referral: ServiceRequest & { id: string };
}

describe('CDS Hooks 2.0 conformance (derived JSON Schemas, real answers)', () => {
  let ehr: FhirServerProcess;
  let service: Service;
  let withSystemActions: Service;
  let discovery: { services: { id: string; hook: string; prefetch?: Record<string, string> }[] };
  const topic = (async () => (await loadTerminology()).cards.topic)();

  async function scenario(images: readonly Buffer[]): Promise<Scenario> {
    const patient = await fhir<Patient & { id: string }>(ehr.baseUrl, 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Conformance' }] });
    const referral = await fhir<ServiceRequest & { id: string }>(ehr.baseUrl, 'POST', 'ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'draft',
      intent: 'order',
      priority: 'routine',
      performerType: { coding: [{ system: SNOMED, code: '394582007', display: 'Dermatology' }] },
      subject: { reference: `Patient/${patient.id}` },
    } satisfies ServiceRequest);
    for (const [k, bytes] of images.entries()) {
      await fhir(ehr.baseUrl, 'POST', 'Media', {
        resourceType: 'Media',
        status: 'completed',
        basedOn: [{ reference: `ServiceRequest/${referral.id}` }],
        subject: { reference: `Patient/${patient.id}` },
        content: { contentType: 'image/jpeg', title: `lesion ${k + 1}`, data: bytes.toString('base64') },
      } satisfies Media);
    }
    return { patient, referral };
  }

  /** A hook body whose prefetch the EHR filled from the discovery templates, against its FHIR server. */
  async function hookBody(serviceId: string, s: Scenario, prefetchOverride?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const def = discovery.services.find((d) => d.id === serviceId);
    assert.ok(def);
    const context: Record<string, unknown> = {
      userId: 'Practitioner/gp-1',
      patientId: s.patient.id,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: s.referral }] },
      ...(def.hook === 'order-select' ? { selections: [`ServiceRequest/${s.referral.id}`] } : {}),
    };
    const prefetch: Record<string, unknown> = {};
    for (const [key, template] of Object.entries(def.prefetch ?? {})) {
      prefetch[key] = await fhir(ehr.baseUrl, 'GET', fillTemplate(template, context));
    }
    const body = { hook: def.hook, hookInstance: randomUUID(), context, prefetch: { ...prefetch, ...prefetchOverride } };
    assertValid(requestSchema, body, `${serviceId} request (what the test sends is itself 2.0)`);
    return body;
  }

  /** Posts a hook; the answer must be 200 and valid against the spec schema, every card against check-card.ts and this service's profile. */
  async function hook(svc: Service, serviceId: string, body: object): Promise<{ readonly body: { cards: Card[]; systemActions?: unknown[] }; readonly res: Response }> {
    const res = await request(svc.app).post(`/cds-services/${serviceId}`).send(body);
    assert.equal(res.status, 200, res.text.slice(0, 400));
    assertValid(responseSchema, res.body, `${serviceId} response`);
    const answer = res.body as { cards: Card[]; systemActions?: unknown[] };
    for (const card of answer.cards) {
      assert.deepEqual(checkCard(card), [], 'check-card.ts agrees');
      // This service's profile of 2.0: what the spec leaves optional, it always sends.
      assert.ok(card.uuid, 'card.uuid (feedback names it)');
      assert.deepEqual(card.source.topic, await topic, 'source.topic is the Coding in codes.json');
      assert.equal(card.source.url, `${BASE}/model-card`);
      for (const s of card.suggestions ?? []) {
        assert.ok(s.uuid, `suggestion "${s.label}" has a uuid (acceptedSuggestions names it)`);
        assert.ok(s.actions?.length, `suggestion "${s.label}" has actions`);
      }
      for (const link of card.links ?? []) {
        if (link.type === 'smart') {
          assert.ok(link.appContext, 'a smart link carries appContext for the launched viewer');
        }
      }
    }
    return { body: answer, res };
  }

  before(async () => {
    ehr = await startFhirServerProcess();
    [service, withSystemActions] = await Promise.all([startService(false), startService(true)]);
    const res = await request(service.app).get('/cds-services');
    assert.equal(res.status, 200);
    discovery = res.body as typeof discovery;
  });
  after(async () => {
    await Promise.all([service.close(), withSystemActions.close()]);
    await ehr.stop();
  });

  it('discovery validates, and every prefetch template uses only the tokens 2.0 allows', () => {
    assertValid(discoverySchema, discovery, 'discovery');
    assert.deepEqual(discovery.services.map((s) => s.hook).sort(), ['order-select', 'order-sign']);
    for (const s of discovery.services) {
      const allowed = [...(CONTEXT_TOKENS[s.hook] ?? []).map((f) => `context.${f}`), ...USER_TOKENS];
      for (const [key, template] of Object.entries(s.prefetch ?? {})) {
        const where = `${s.id} prefetch.${key}`;
        // #prefetch-template: a FHIR read (Type/id) or search (Type?params), relative to the FHIR base.
        assert.match(template, /^[A-Z][A-Za-z]+(\/[^/?]+|\?[^#]+)$/, `${where}: a relative read or search`);
        for (const [, token] of template.matchAll(/\{\{([^}]*)\}\}/g)) {
          assert.ok(allowed.includes(token?.trim() ?? ''), `${where}: {{${token ?? ''}}} is not a 2.0 prefetch token for ${s.hook}`);
        }
        // #prefetch-query-restrictions: references filled by a token, equality tokens (or :in), _count, _sort.
        for (const [name, value] of new URLSearchParams(template.split('?')[1] ?? '')) {
          const reference = /^\{\{[^}]+\}\}$/.test(value);
          const count = name === '_count' && /^\d+$/.test(value);
          const equality = !name.startsWith('_') && (!name.includes(':') || name.endsWith(':in'));
          assert.ok(reference || count || name === '_sort' || equality, `${where}: ${name}=${value} is outside the prefetch query restrictions`);
        }
      }
    }
  });

  it('order-sign with an image: the triage card, the report as suggestions, links to the viewer', async () => {
    const s = await scenario([await lesionJpeg(480, 360, 71)]);
    const { body } = await hook(service, ORDER_SIGN, await hookBody(ORDER_SIGN, s));
    assert.equal(body.cards.length, 1);
    const card = body.cards[0]!;
    assert.equal(body.systemActions, undefined, 'no systemActions unless the EHR agreed to them');
    assert.ok(card.suggestions?.some((x) => x.label === 'Save AI triage report to the chart'));
    assert.equal(card.selectionBehavior, 'any');
    assert.ok(card.overrideReasons?.length, 'override reasons for the feedback');
    assert.ok(card.links?.length, 'a link to the result viewer');
    const metrics = (await request(service.app).get('/metrics')).text;
    assert.match(metrics, new RegExp(`^bcc_cds_cards_total\\{category="[a-z]+",indicator="${card.indicator}"\\} [1-9]`, 'm'), 'cards by category and indicator');
  });

  it('order-select with an image, a referral without images (prefetch null, as 2.0 says for no data), and an image the gate refuses', async () => {
    const selected = await scenario([await lesionJpeg(480, 360, 72)]);
    const one = await hook(service, ORDER_SELECT, await hookBody(ORDER_SELECT, selected));
    assert.equal(one.body.cards.length, 1);

    const bare = await scenario([]);
    const none = await hook(service, ORDER_SIGN, await hookBody(ORDER_SIGN, bare, { images: null }));
    assert.equal(none.body.cards.length, 1);
    assert.match(none.body.cards[0]?.summary ?? '', /no dermoscopic images/);
    const emptySearch = await hook(service, ORDER_SIGN, await hookBody(ORDER_SIGN, bare));
    assert.match(emptySearch.body.cards[0]?.summary ?? '', /no dermoscopic images/, 'an empty searchset says the same');

    const refused = await scenario([await solidJpeg(80, 60, [200, 150, 130])]);
    const r = await hook(service, ORDER_SIGN, await hookBody(ORDER_SIGN, refused));
    assert.match(r.body.cards[0]?.summary ?? '', /cannot be judged/);
    assert.equal(r.body.cards[0]?.suggestions, undefined);
  });

  it('systemActions on: the report as 2.0 systemActions, no save suggestion on the card', async () => {
    const s = await scenario([await lesionJpeg(480, 360, 73)]);
    const { body } = await hook(withSystemActions, ORDER_SIGN, await hookBody(ORDER_SIGN, s));
    assert.ok(body.systemActions?.length, 'the report travels as systemActions');
    assert.ok(body.systemActions.every((a) => typeof a === 'object' && a !== null && (a as { type?: string }).type === 'create'));
    assert.ok(!body.cards[0]?.suggestions?.some((x) => x.label === 'Save AI triage report to the chart'), 'nothing left for the clinician to file');
  });

  it('feedback: the bodies the spec allows are stored, the others get 400 with an OperationOutcome; the schema and the service agree', async () => {
    const s = await scenario([await lesionJpeg(480, 360, 74)]);
    const card = (await hook(service, ORDER_SIGN, await hookBody(ORDER_SIGN, s))).body.cards[0]!;
    const suggestion = card.suggestions?.[0]?.uuid ?? '';
    const reason = card.overrideReasons?.[0];
    assert.ok(reason);
    const at = '2026-12-02T10:00:00Z';
    const item = (extra: Record<string, unknown>): Record<string, unknown> => ({ card: card.uuid, outcomeTimestamp: at, ...extra });
    const bodies: [string, object, boolean][] = [
      ['accepted with its suggestion', { feedback: [item({ outcome: 'accepted', acceptedSuggestions: [{ id: suggestion }] })] }, true],
      ['overridden with the card reason and a comment', { feedback: [item({ outcome: 'overridden', overrideReason: { reason, userComment: 'Seborrhoeic keratosis' } })] }, true],
      ['overridden without a reason', { feedback: [item({ outcome: 'overridden' })] }, true],
      ['overridden with only a comment', { feedback: [item({ outcome: 'overridden', overrideReason: { userComment: 'no' } })] }, true],
      ['two at once, fractional seconds', { feedback: [item({ outcome: 'overridden', outcomeTimestamp: '2026-12-02T10:00:00.52Z' }), item({ outcome: 'overridden' })] }, true],
      ['an extension', { feedback: [item({ outcome: 'overridden', extension: { 'org.example.note': 1 } })] }, true],
      ['accepted without acceptedSuggestions', { feedback: [item({ outcome: 'accepted' })] }, false],
      ['accepted with an empty acceptedSuggestions', { feedback: [item({ outcome: 'accepted', acceptedSuggestions: [] })] }, false],
      ['an acceptedSuggestion without id', { feedback: [item({ outcome: 'accepted', acceptedSuggestions: [{}] })] }, false],
      ['an outcome of ignored', { feedback: [item({ outcome: 'ignored' })] }, false],
      ['no outcomeTimestamp', { feedback: [{ card: card.uuid, outcome: 'overridden' }] }, false],
      ['a timestamp not in UTC', { feedback: [item({ outcome: 'overridden', outcomeTimestamp: '2026-12-02T11:00:00+01:00' })] }, false],
      ['a timestamp without time', { feedback: [item({ outcome: 'overridden', outcomeTimestamp: '2026-12-02' })] }, false],
      ['a reason without system', { feedback: [item({ outcome: 'overridden', overrideReason: { reason: { code: reason.code } } })] }, false],
      ['an empty overrideReason', { feedback: [item({ outcome: 'overridden', overrideReason: {} })] }, false],
      ['no card', { feedback: [{ outcome: 'overridden', outcomeTimestamp: at }] }, false],
      ['an empty feedback array', { feedback: [] }, false],
      ['no feedback array', { card: card.uuid }, false],
    ];
    for (const [what, body, conforms] of bodies) {
      assert.equal(feedbackSchema(body), conforms, `${what}: the schema says ${String(!conforms)}: ${ajv.errorsText(feedbackSchema.errors)}`);
      const res = await request(service.app).post(`/cds-services/${ORDER_SIGN}/feedback`).send(body);
      if (conforms) {
        assert.equal(res.status, 200, `${what}: ${res.text}`);
      } else {
        assert.equal(res.status, 400, `${what}: ${res.text}`);
        assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
        assert.equal((res.body as { resourceType?: string }).resourceType, 'OperationOutcome', what);
      }
    }
    const stored = (await service.feedback.listFeedback()).filter((f) => f.card === card.uuid);
    const sent = bodies.filter(([, , ok]) => ok).map(([, body]) => body as { feedback: unknown[] });
    assert.equal(stored.length, sent.reduce((n, b) => n + b.feedback.length, 0), 'every conforming entry stored, nothing else');
    assert.ok(stored.some((f) => f.outcome === 'accepted' && f.acceptedSuggestions.includes(suggestion)));
    assert.ok(stored.some((f) => f.overrideReasonCode === reason.code && f.overrideReasonSystem === reason.system));
  });

  it('the schemas themselves refuse what 2.0 forbids in a response (so a pass above means something)', () => {
    const good: Card = {
      uuid: 'u-1',
      summary: 'BCC triage: low',
      indicator: 'info',
      source: { label: 'BCC-CDS', url: `${BASE}/model-card` },
      suggestions: [{ label: 'Save', uuid: 's-1', isRecommended: true, actions: [{ type: 'create', description: 'Save', resource: { resourceType: 'Basic', code: { text: 'x' } } }] }],
      selectionBehavior: 'any',
      overrideReasons: [{ system: 'http://example.org', code: 'c', display: 'Disagree' }],
      links: [{ label: 'Viewer', url: `${BASE}/viewer/launch`, type: 'smart', appContext: '{"report":"r1"}' }],
    };
    assertValid(responseSchema, { cards: [good] }, 'the good card');
    const bad: [string, unknown][] = [
      ['a 140-character summary', { ...good, summary: 'x'.repeat(140) }],
      ['an unknown indicator', { ...good, indicator: 'hard-stop' }],
      ['suggestions without selectionBehavior', { ...good, selectionBehavior: undefined }],
      ['two recommended under at-most-one', { ...good, selectionBehavior: 'at-most-one', suggestions: [good.suggestions?.[0], good.suggestions?.[0]] }],
      ['an override reason without display', { ...good, overrideReasons: [{ system: 'http://example.org', code: 'c' }] }],
      ['appContext on an absolute link', { ...good, links: [{ label: 'V', url: `${BASE}/v`, type: 'absolute', appContext: 'x' }] }],
      ['a relative link', { ...good, links: [{ label: 'V', url: '/viewer/r1', type: 'absolute' }] }],
      ['a create action without its resource', { ...good, suggestions: [{ label: 'S', actions: [{ type: 'create', description: 'd' }] }] }],
      ['a source without label', { ...good, source: { url: `${BASE}/model-card` } }],
      ['an attribute 2.0 does not define', { ...good, priority: 'high' }],
    ];
    for (const [what, card] of bad) {
      assert.equal(responseSchema(JSON.parse(JSON.stringify({ cards: [card] }))), false, what);
    }
    assert.equal(responseSchema({ cards: [], systemActions: [{ type: 'update' }] }), false, 'an update system action without its resource');
    assert.equal(responseSchema({ cards: [], systemActions: [] }), false, 'an empty systemActions array is omitted instead');
    assert.equal(requestSchema({ hook: 'order-select', hookInstance: 'h', context: { userId: 'Practitioner/1', patientId: 'p', draftOrders: { resourceType: 'Bundle' } } }), false, 'order-select without selections');
    assert.equal(requestSchema({ hook: 'order-sign', hookInstance: 'h', fhirAuthorization: { access_token: 't', token_type: 'Bearer', expires_in: 300, scope: 's', subject: 'c' }, context: { userId: 'Practitioner/1', patientId: 'p', draftOrders: { resourceType: 'Bundle' } } }), false, 'fhirAuthorization without fhirServer');
  });
});
