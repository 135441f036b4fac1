import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation } from 'fhir/r4';
import { CONSENSUS_VALUE, formatConsensusCsv } from '../../src/annotation/annotation-csv.ts';
import { toAnnotationBundle } from '../../src/annotation/annotation-fhir.ts';
import type { StoredAnnotation } from '../../src/annotation/annotation-store.ts';
import { ANNOTATION_VALUES } from '../../src/annotation/annotation-store.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import { loadTerminology } from '../../src/report/terminology.ts';
import { parseAnnotations } from '../../src/tools/consensus/annotations.ts';
import { loadDefaultValidator } from '../../src/tools/profiles/validate-resource.ts';
import { errorIssues, formatIssue } from '../../src/tools/profiles/validation-issues.ts';

const manifest = await loadManifest(DEFAULT_CONFIG.modelManifest);
const LABELS = ['bcc', ...manifest.patterns.map((p) => p.id)];
const terminology = await loadTerminology();

let n = 0;
function stored(extra: Partial<StoredAnnotation> = {}): StoredAnnotation {
  n++;
  return {
    id: `6f1c2a4e-0000-4000-8000-${n.toString().padStart(12, '0')}`,
    reportId: 'rep-1',
    image: 'Media/m1',
    pattern: 'ulceration',
    value: 'present',
    annotator: { issuer: 'https://idp.example.org', id: 'derm-a' },
    model: { name: manifest.name, version: manifest.version },
    createdAt: '2026-12-01T09:00:00.000Z',
    updatedAt: '2026-12-01T09:00:00.000Z',
    ...extra,
  };
}

describe('annotation exports', () => {
  it('CSV: present 1, absent 0, cannot tell empty, exactly as parseAnnotations reads them', () => {
    assert.deepEqual(CONSENSUS_VALUE, { present: '1', absent: '0', 'cannot-tell': '' });
    const text = formatConsensusCsv(ANNOTATION_VALUES.map((value, i) => stored({ value, image: `Media/m${i}` })));
    assert.equal(text, 'image,annotator,label,value\nMedia/m0,derm-a,ulceration,1\nMedia/m1,derm-a,ulceration,0\nMedia/m2,derm-a,ulceration,\n');
    const sheet = parseAnnotations(text, LABELS);
    assert.deepEqual(
      sheet.votes.map((v) => [v.image, v.value]),
      [
        ['Media/m0', 1],
        ['Media/m1', 0],
      ],
    );
    assert.deepEqual(sheet.images, ['Media/m0', 'Media/m1', 'Media/m2'], 'a cannot-tell image is still seen');
  });

  it('CSV: quotes what needs quoting, and keeps one id under two issuers apart', () => {
    const text = formatConsensusCsv([
      stored({ image: 'Media/a,b', annotator: { issuer: 'https://idp-1.example.org', id: 'u1' } }),
      stored({ image: 'Media/a,b', annotator: { issuer: 'https://idp-2.example.org', id: 'u1' }, value: 'absent' }),
      stored({ image: 'Media/"q"', annotator: { issuer: 'https://idp-1.example.org', id: 'u2' } }),
    ]);
    const sheet = parseAnnotations(text, LABELS);
    assert.deepEqual(sheet.annotators, ['u1 (https://idp-1.example.org)', 'u1 (https://idp-2.example.org)', 'u2']);
    assert.deepEqual(sheet.images, ['Media/a,b', 'Media/"q"']);
    assert.equal(sheet.votes.length, 3, 'no conflict: two people, not one');
  });

  it('FHIR: every value and a region validate against R4; a broken copy does not', async () => {
    const validator = await loadDefaultValidator();
    const bundle = toAnnotationBundle(
      [
        stored({ value: 'present', region: { png: 'iVBORw0KGgo=', width: 4, height: 4 }, referral: 'ServiceRequest/sr1', patient: 'Patient/p1', annotator: { issuer: 'https://idp.example.org', id: 'derm-a', name: 'Dr A' } }),
        stored({ value: 'absent' }),
        stored({ value: 'cannot-tell' }),
      ],
      { terminology, patterns: manifest.patterns, now: '2026-12-01T10:00:00.000Z' },
    );
    assert.deepEqual(errorIssues(validator.validateBundle(bundle)).map(formatIssue), []);
    assert.deepEqual(
      bundle.entry?.map((e) => e.resource?.resourceType),
      ['Observation', 'Media', 'Observation', 'Observation'],
    );
    const [present, , absent, cannotTell] = (bundle.entry ?? []).map((e) => e.resource as Observation);
    assert.equal(present?.valueBoolean, true);
    assert.equal(absent?.valueBoolean, false);
    assert.equal(cannotTell?.valueBoolean, undefined);
    assert.equal(cannotTell?.dataAbsentReason?.coding?.[0]?.code, 'asked-unknown');
    assert.equal(present.code.coding?.[0]?.display, 'Ulceration');
    assert.equal(present.performer?.[0]?.display, 'Dr A');
    const broken = structuredClone(bundle);
    const obs = broken.entry?.[3]?.resource as Observation;
    obs.valueBoolean = true;
    assert.match(errorIssues(validator.validateBundle(broken)).map(formatIssue).join('\n'), /obs-6/);
  });
});
