import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CodeSystemConcept } from '@medplum/fhirtypes';
import type { DocumentReference, FhirResource } from 'fhir/r4';
import { buildTriageReport } from '../../../src/report/build-triage-report.ts';
import { reportResources, toTransactionBundle } from '../../../src/report/transaction-bundle.ts';
import { uncheckedNotes } from '../../../src/tools/profiles/unchecked.ts';
import { highImage, image, analysedResult, lowImage, moderateImage, reportInput, terminology } from '../../report/fixtures.ts';
import { assertValid, copy, errorLines, validator } from './helpers.ts';

const IG = 'http://hl7.org/fhir/uv/aitransparency/';
const ai = terminology.aiTransparency;
const report = buildTriageReport(reportInput([highImage(1), moderateImage(2), lowImage(3)]));
const r = report.resources;

function label(res: FhirResource): string {
  return `${res.resourceType}/${res.id ?? '?'}`;
}

describe('every resource the service produces meets every profile it claims, the IG\'s included', () => {
  it('each claimed profile is loaded (none is "not loaded"), and the resource meets it', () => {
    for (const res of reportResources(report)) {
      const claimed = res.meta?.profile ?? [];
      assert.ok(claimed.length, `${label(res)} claims no profile`);
      for (const url of claimed) {
        assert.ok(validator.profiles.structureDefinitions.has(url), `${label(res)} claims ${url}, which is not loaded`);
      }
      const outcome = validator.validateResource(res, { requireProfile: true });
      assertValid(outcome, label(res));
      assert.ok(!outcome.issue.some((i) => (i.details?.text ?? '').includes('is not loaded here')), label(res));
    }
    assertValid(validator.validateBundle(toTransactionBundle(report)), 'transaction Bundle');
  });

  it('the Device, Provenance and model card claim the IG profiles; the probability Observations carry AIconfidence', () => {
    assert.ok(r.device.meta?.profile?.includes(`${IG}StructureDefinition/AI-Device`));
    assert.ok(r.provenance.meta?.profile?.includes(`${IG}StructureDefinition/AI-Provenance`));
    assert.deepEqual(r.modelCard.meta?.profile, [`${IG}StructureDefinition/AI-ModelCard`]);
    assert.equal(r.observations.length, 9, 'three images: BCC and two patterns each');
    for (const o of r.observations) {
      const conf = o.extension?.filter((e) => e.url === `${IG}StructureDefinition/AIconfidence`) ?? [];
      assert.equal(conf.length, 1, label(o));
      assert.ok(conf[0]!.valueDecimal! >= 0 && conf[0]!.valueDecimal! <= 1);
    }
  });
});

describe('the gaps of issue #18, closed', () => {
  it('Device.type is exactly the IG\'s fixed value: a display or a text fails AI-Device', () => {
    assert.deepEqual(r.device.type, { coding: [{ system: `${IG}CodeSystem/AIdeviceTypeCS`, code: 'Artificial-Intelligence' }] });
    const d = copy(r.device);
    d.type = { ...d.type, text: 'AI/ML model' };
    const lines = errorLines(validator.validateResource(d));
    assert.ok(lines.some((l) => l.startsWith('error Device.type') && l.includes('AI-Device')), lines.join('\n'));
  });

  it('the Device names its AI kinds and its model card, which is an AI-ModelCard in Markdown with the decision-support notice', () => {
    const kinds = r.device.extension?.filter((e) => e.url === ai.aiKindExtension).map((e) => e.valueCodeableConcept?.coding?.[0]?.code);
    assert.deepEqual(kinds, ai.aiKinds.map((k) => k.code));
    const card = r.device.extension?.find((e) => e.url === ai.modelCardExtension)?.valueReference?.reference;
    assert.equal(card, `urn:uuid:${r.modelCard.id ?? ''}`);
    const att = r.modelCard.content[0]?.attachment;
    assert.ok(att);
    assert.equal(att.contentType, 'text/markdown');
    const markdown = Buffer.from(att.data ?? '', 'base64').toString('utf8');
    assert.equal(markdown, r.modelCard.description);
    assert.match(markdown, /not a diagnosis/);
    assert.match(markdown, /Not assessed by this model/);
  });

  it('the Provenance names the Device, the input images, the model card, the rules version and the time', () => {
    const p = r.provenance;
    assert.equal(p.agent[0]?.who.reference, `urn:uuid:${r.device.id ?? ''}`);
    assert.deepEqual(p.agent[0].role, [{ coding: [{ system: `${IG}CodeSystem/AIdeviceTypeCS`, code: 'Artificial-Intelligence' }] }]);
    const what = p.entity?.map((e) => e.what.reference);
    assert.deepEqual(what, ['Media/img-1', 'Media/img-2', 'Media/img-3', `urn:uuid:${r.modelCard.id ?? ''}`]);
    assert.ok(p.entity?.every((e) => e.role === 'derivation'));
    assert.ok(p.policy?.includes(`${terminology.observation.triageRuleSystemBase}${report.rules.id}|${report.rules.version}`));
    assert.equal(p.occurredDateTime, p.recorded);
  });

  it('AIAST on everything the model produced, not on the Device, the model card or the Provenance', () => {
    const labelled = (res: FhirResource): boolean => res.meta?.security?.some((s) => s.code === ai.securityLabel.code && s.system === ai.securityLabel.system) ?? false;
    for (const res of [r.report, ...r.observations, ...r.media]) {
      assert.ok(labelled(res), label(res));
    }
    for (const res of [r.device, r.modelCard, r.provenance]) {
      assert.ok(!labelled(res), label(res));
    }
  });

  it('AIconfidence is the probability of what the Observation reports: p when positive, 1 - p when negative', () => {
    const rep = buildTriageReport(reportInput([image(1, analysedResult('Media/img-1', 0.02, { pigment_network: 0.9, arborizing_telangiectasia: 0.1 }))]));
    const conf = (code: string): number | undefined =>
      rep.resources.observations.find((o) => o.code.coding?.[0]?.code === code)?.extension?.find((e) => e.url === ai.confidenceExtension)?.valueDecimal;
    assert.equal(conf('bcc-probability'), 0.98);
    assert.equal(conf('pigment_network'), 0.9);
    assert.equal(conf('arborizing_telangiectasia'), 0.9);
  });
});

describe('the validator on the IG\'s constructs', () => {
  it('an AIconfidence of the wrong type fails, naming the extension', () => {
    const o = copy(r.observations[0]!);
    o.extension = [{ url: ai.confidenceExtension, valueBoolean: true }];
    const lines = errorLines(validator.validateResource(o));
    assert.ok(lines.some((l) => l.startsWith('error Observation.extension[0].valueBoolean') && l.includes('valueDecimal')), lines.join('\n'));
  });

  it('a Provenance without the AI agent fails the AI-Provenance agent:AIagent slice (checked here, not by Medplum)', () => {
    const p = copy(r.provenance);
    p.agent = [{ type: p.agent[0]!.type!, who: { reference: 'Practitioner/derm-1' } }];
    const lines = errorLines(validator.validateResource(p));
    assert.ok(lines.some((l) => l.startsWith('error Provenance.agent') && l.includes('slice \'AIagent\': expected 1..*, but found 0')), lines.join('\n'));
  });

  it('a model card of the wrong content type fails AI-ModelCard', () => {
    const d = copy(r.modelCard);
    d.type = { coding: [{ system: `${IG}CodeSystem/AIinputsCS`, code: 'AIInputPrompt' }] };
    const lines = errorLines(validator.validateResource(d));
    assert.ok(lines.some((l) => l.startsWith('error DocumentReference.type')), lines.join('\n'));
  });

  it('inside a Bundle it resolves the entries: AI-Provenance entity slices by the target\'s profile, and the AI agent\'s Device', () => {
    const bundle = toTransactionBundle(report);
    const entries = bundle.entry ?? [];
    const at = (type: string): number => entries.findIndex((e) => e.resource?.resourceType === type);
    const quiet = validator.validateBundle(bundle);
    assertValid(quiet, 'transaction Bundle');
    const notes = uncheckedNotes([quiet]);
    assert.ok(!notes.some((n) => n.startsWith('Provenance.entity sliced by')), notes.join('\n'));
    assert.ok(!notes.some((n) => n.includes('AIagent.who')), notes.join('\n'));
    // The EHR's images are not entries: whether they are model cards is said to be unknown.
    assert.ok(notes.some((n) => n.startsWith('whether it is in slice modelCard of Provenance.entity')), notes.join('\n'));

    const broken = copy(bundle);
    const prov = broken.entry?.[at('Provenance')]?.resource;
    const doc = broken.entry?.[at('DocumentReference')]?.resource;
    const dev = broken.entry?.[at('Device')]?.resource;
    assert.ok(prov?.resourceType === 'Provenance' && doc?.resourceType === 'DocumentReference' && dev?.resourceType === 'Device');
    const cardEntity = (prov.entity ?? []).findIndex((e) => e.what.reference === `urn:uuid:${r.modelCard.id ?? ''}`);
    prov.entity![cardEntity]!.role = 'source';
    dev.meta = { profile: [terminology.profiles.aiModelDevice] };
    const lines = errorLines(validator.validateBundle(broken));
    const p = `Bundle.entry[${at('Provenance')}].resource`;
    assert.ok(lines.some((l) => l.startsWith(`error ${p}.entity[${cardEntity}].role`) && l.includes("slice 'modelCard'")), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`error ${p}.agent[0].who`) && l.includes('does not claim http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-Device')), lines.join('\n'));
  });

  it('a slice matched by a fixed Coding (AI-InputPrompt type.coding, closed), which Medplum never matches, is checked here', () => {
    const prompt = {
      resourceType: 'DocumentReference',
      meta: { profile: [`${IG}StructureDefinition/AI-InputPrompt`] },
      status: 'current',
      type: { coding: [{ system: `${IG}CodeSystem/AIinputsCS`, code: 'AIInputPrompt' }] },
      content: [{ attachment: { contentType: 'text/markdown', data: 'aGk=' } }],
    } satisfies DocumentReference;
    assertValid(validator.validateResource(prompt), 'AI-InputPrompt');
    const extra = copy(prompt);
    extra.type.coding.push({ system: 'http://example.org/other', code: 'x' });
    const lines = errorLines(validator.validateResource(extra));
    assert.ok(lines.some((l) => l.startsWith('error DocumentReference.type.coding[1]') && l.includes('closed')), lines.join('\n'));
  });

  it('names what it cannot check (the profile-discriminated entity slices, unexpandable bindings) instead of passing silently', () => {
    const notes = uncheckedNotes([validator.validateResource(r.provenance), validator.validateResource(r.modelCard)]);
    assert.ok(notes.some((n) => n.startsWith('Provenance.entity sliced by discriminator profile on what.resolve()')), notes.join('\n'));
    assert.ok(notes.some((n) => n.includes('required binding to http://hl7.org/fhir/ValueSet/mimetypes')), notes.join('\n'));
  });
});

describe('codes.json takes its AI Transparency codes and canonicals from the IG build', () => {
  function concepts(url: string): Map<string, CodeSystemConcept> {
    const out = new Map<string, CodeSystemConcept>();
    const walk = (cs: readonly CodeSystemConcept[]): void => {
      for (const c of cs) {
        out.set(c.code, c);
        walk(c.concept ?? []);
      }
    };
    walk(validator.profiles.codeSystems.get(url)?.concept ?? []);
    return out;
  }

  it('every IG code is in the IG\'s CodeSystem, with its display, and none is abstract', () => {
    const codings = [ai.deviceType, ...ai.aiKinds, ai.modelCardType, ai.modelCardMarkdownCategory];
    for (const c of codings) {
      assert.ok(c.system.startsWith(IG), c.system);
      const concept = concepts(c.system).get(c.code);
      assert.ok(concept, `${c.system}#${c.code} is not in the IG build`);
      assert.equal(concept.display, c.display, c.code);
      assert.ok(!concept.property?.some((p) => p.code === 'abstract' && p.valueBoolean), `${c.code} is abstract`);
    }
  });

  it('AIAST is the code of the IG\'s ProvenanceVS', () => {
    const vs = validator.profiles.valueSets.get(`${IG}ValueSet/ProvenanceVS`);
    const codes = vs?.compose?.include.flatMap((i) => (i.concept ?? []).map((c) => `${i.system ?? ''}|${c.code}`));
    assert.deepEqual(codes, [`${ai.securityLabel.system}|${ai.securityLabel.code}`]);
  });

  it('our Device and Provenance profiles derive from the IG\'s AI-Device and AI-Provenance', () => {
    assert.equal(validator.profiles.structureDefinitions.get(terminology.profiles.aiModelDevice)?.baseDefinition, ai.deviceProfile);
    assert.equal(validator.profiles.structureDefinitions.get(terminology.profiles.aiProvenance)?.baseDefinition, ai.provenanceProfile);
  });

  it('every IG canonical codes.json names is a StructureDefinition of the build', () => {
    for (const url of [ai.deviceProfile, ai.provenanceProfile, ai.modelCardProfile, ai.aiKindExtension, ai.modelCardExtension, ai.confidenceExtension]) {
      assert.ok(validator.profiles.structureDefinitions.get(url)?.snapshot, url);
    }
  });
});
