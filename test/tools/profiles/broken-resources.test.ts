import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { Bundle, Device, DiagnosticReport, Media, Observation, Provenance } from 'fhir/r4';
import { PROJECT_ROOT } from '../../../src/config.ts';
import { copy, errorLines, validator } from './helpers.ts';

async function example<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(resolve(PROJECT_ROOT, 'fhir-profiles/examples', name), 'utf8')) as T;
}

const report = await example<DiagnosticReport>('DiagnosticReport-bcc-triage-report.json');
const bcc = await example<Observation>('Observation-bcc-probability.json');
const pattern = await example<Observation>('Observation-dermoscopic-pattern.json');
const media = await example<Media>('Media-heatmap-media.json');
const device = await example<Device>('Device-ai-model-device.json');
const provenance = await example<Provenance>('Provenance-ai-provenance.json');
const bundle = await example<Bundle>('Bundle-bcc-triage-transaction.json');

/** Validates `broken` and asserts some error line names `element` and matches `text`. */
function assertFails(broken: unknown, element: string, text: RegExp): void {
  const lines = errorLines(validator.validateResource(broken));
  assert.ok(
    lines.some((l) => (l.startsWith(`error ${element}`) || l.startsWith(`fatal ${element}`)) && text.test(l)),
    `expected an error at ${element} matching ${String(text)}; got:\n${lines.join('\n') || '(no errors)'}`,
  );
}

describe('a broken resource of each profile fails, naming the element', () => {
  it('BCC triage report based on two referrals (basedOn may be absent, for a draft without id or identifier, but is one at most)', () => {
    const r = copy(report);
    r.basedOn = [{ reference: 'ServiceRequest/a' }, { reference: 'ServiceRequest/b' }];
    assertFails(r, 'DiagnosticReport.basedOn', /expected 0\.\.1, but found 2/);
  });

  it('BCC triage report with a made-up triage category', () => {
    const r = copy(report);
    r.conclusionCode = [{ coding: [{ system: 'http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category', code: 'urgent' }] }];
    assertFails(r, 'DiagnosticReport.conclusionCode[0]', /urgent is not in the required value set http:\/\/bcc-cds\.org\/fhir\/ValueSet\/bcc-conclusion/);
  });

  it('BCC triage report claiming BCC without category high', () => {
    const r = copy(report);
    r.conclusionCode = [
      { coding: [{ system: 'http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category', code: 'low' }] },
      { coding: [{ system: 'http://snomed.info/sct', code: '254701007' }] },
    ];
    assertFails(r, 'DiagnosticReport', /bcc-report-2/);
  });

  it('BCC triage report without the AIAST label', () => {
    const r = copy(report);
    r.meta = { ...r.meta, security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] };
    assertFails(r, 'DiagnosticReport.meta.security', /slice 'aiAsserted'/);
  });

  it('BCC probability Observation with a valueString', () => {
    const r: Observation & { valueString?: string } = copy(bcc);
    delete r.valueQuantity;
    r.valueString = '0.91';
    assertFails(r, 'Observation.valueString', /type string is not allowed: Observation\.value\[x\] must be valueQuantity/);
  });

  it('BCC probability Observation above 1', () => {
    const r = copy(bcc);
    r.valueQuantity = { ...r.valueQuantity, value: 1.2 };
    assertFails(r, 'Observation.value[x]', /bcc-probability-1/);
  });

  it('BCC probability Observation with an unknown status', () => {
    const r: Omit<Observation, 'status'> & { status: string } = copy(bcc);
    r.status = 'draft';
    assertFails(r, 'Observation.status', /draft is not in the required value set http:\/\/hl7\.org\/fhir\/ValueSet\/observation-status/);
  });

  it('dermoscopic pattern Observation with a valueString', () => {
    const r: Observation & { valueString?: string } = copy(pattern);
    delete r.valueBoolean;
    r.valueString = 'present';
    assertFails(r, 'Observation.valueString', /must be valueBoolean/);
  });

  it('dermoscopic pattern Observation with a pattern the CodeSystem lacks', () => {
    const r = copy(pattern);
    r.code = { coding: [{ system: 'http://bcc-cds.org/fhir/CodeSystem/dermoscopic-pattern', code: 'shiny_white_red_areas' }] };
    assertFails(r, 'Observation.code', /not in the required value set http:\/\/bcc-cds\.org\/fhir\/ValueSet\/dermoscopic-pattern/);
  });

  it('dermoscopic pattern Observation without the image it was derived from', () => {
    const r = copy(pattern);
    delete r.derivedFrom;
    assertFails(r, 'Observation.derivedFrom', /Missing required property/);
  });

  it('heatmap Media with contentType image/jpeg', () => {
    const r = copy(media);
    r.content = { ...r.content, contentType: 'image/jpeg' };
    assertFails(r, 'Media.content.contentType', /expected "image\/png"/);
  });

  it('heatmap Media that does not say what it explains', () => {
    const r = copy(media);
    r.extension = (r.extension ?? []).filter((e) => !e.url.endsWith('heatmap-explained-output'));
    assertFails(r, 'Media.extension', /slice 'explainedOutput'/);
  });

  it('heatmap Media explaining an output the model does not have', () => {
    const r = copy(media);
    r.extension = (r.extension ?? []).map((e) => (e.valueCoding ? { ...e, valueCoding: { ...e.valueCoding, code: 'melanoma' } } : e));
    assertFails(r, 'Media.extension[1].valueCoding', /melanoma is not in the required value set http:\/\/bcc-cds\.org\/fhir\/ValueSet\/heatmap-explained-output/);
  });

  it('model Device without its SHA-256 identifier', () => {
    const r = copy(device);
    delete r.identifier;
    assertFails(r, 'Device.identifier', /Missing required property/);
  });

  it('model Device with a malformed SHA-256', () => {
    const r = copy(device);
    r.identifier = [{ system: 'http://bcc-cds.org/fhir/NamingSystem/model-sha256', value: 'not-a-hash' }];
    assertFails(r, 'Device', /bcc-device-1/);
  });

  it('AI Provenance without agent', () => {
    const r: Omit<Provenance, 'agent'> & { agent?: Provenance['agent'] } = copy(provenance);
    delete r.agent;
    assertFails(r, 'Provenance.agent', /Missing required property/);
    assertFails(r, 'Provenance', /bcc-provenance-1/);
  });

  it('AI Provenance with an input entity that is not a derivation', () => {
    const r = copy(provenance);
    r.entity = (r.entity ?? []).map((e) => ({ ...e, role: 'source' as const }));
    assertFails(r, 'Provenance.entity.role', /expected "derivation"/);
  });

  it('a resource claiming another resource type profile', () => {
    const r = copy(report);
    r.meta = { ...r.meta, profile: ['http://bcc-cds.org/fhir/StructureDefinition/heatmap-media'] };
    assertFails(r, 'DiagnosticReport.meta.profile', /constrains Media, not DiagnosticReport/);
  });

  it('a resource claiming none of our profiles, when one is required', () => {
    const r = copy(bcc);
    r.meta = { ...r.meta, profile: [] };
    const lines = errorLines(validator.validateResource(r, { requireProfile: true }));
    assert.ok(lines.some((l) => l.startsWith('error Observation.meta.profile: names no loaded profile')), lines.join('\n'));
  });
});

describe('a broken transaction Bundle fails, naming the entry and element', () => {
  const reportIndex = (bundle.entry ?? []).findIndex((e) => e.resource?.resourceType === 'DiagnosticReport');

  it('an entry that breaks its profile', () => {
    const b = copy(bundle);
    const r = b.entry?.[reportIndex]?.resource;
    assert.equal(r?.resourceType, 'DiagnosticReport');
    delete r.subject;
    assertFails(b, `Bundle.entry[${reportIndex}].resource.subject`, /Missing required property/);
  });

  it('a urn:uuid reference that names no entry', () => {
    const b = copy(bundle);
    const r = b.entry?.[reportIndex]?.resource;
    assert.equal(r?.resourceType, 'DiagnosticReport');
    r.result = [{ reference: 'urn:uuid:00000000-0000-4000-8000-0000000000ff' }];
    assertFails(b, `Bundle.entry[${reportIndex}].resource.result[0]`, /is not the fullUrl of any entry/);
  });

  it('a reference to an entry of the wrong profile', () => {
    const b = copy(bundle);
    const r = b.entry?.[reportIndex]?.resource;
    assert.equal(r?.resourceType, 'DiagnosticReport');
    const deviceUrl = b.entry?.find((e) => e.resource?.resourceType === 'Device')?.fullUrl ?? '';
    r.media = [{ link: { reference: deviceUrl } }];
    assertFails(b, `Bundle.entry[${reportIndex}].resource.media[0].link`, /is Device .*DiagnosticReport\.media\.link takes http:\/\/bcc-cds\.org\/fhir\/StructureDefinition\/heatmap-media/);
  });

  it('something that is not a resource at all', () => {
    assertFails({ hello: 'world' }, '(root)', /not a FHIR resource/);
  });
});
