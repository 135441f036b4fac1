/**
 * The annotation API through the real sandbox service (createSandboxService, real model, real
 * SQLite store): a real hook makes the report, named demo annotators label it over HTTP, every
 * class of bad input is refused with a 4xx OperationOutcome and leaves the store as it was, and
 * both exports are read back by what consumes them: the CSV by `npm run consensus`'s parser and
 * Dawid-Skene, the Bundle by the project's FHIR validator.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Media, Observation } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import type { StoredAnnotation } from '../../src/annotation/annotation-store.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import { DEMO_ANNOTATORS, DEMO_ANNOTATOR_ISSUER } from '../../src/sandbox/demo-annotators.ts';
import { createSandboxService } from '../../src/sandbox/sandbox-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { parseAnnotations } from '../../src/tools/consensus/annotations.ts';
import { runConsensus } from '../../src/tools/consensus/run-consensus.ts';
import { loadDefaultValidator } from '../../src/tools/profiles/validate-resource.ts';
import { errorIssues, formatIssue } from '../../src/tools/profiles/validation-issues.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { ORDER_SIGN, orderSignHook } from '../security/service.ts';
import { canvasMask, dataUrl, greyMask, maskBits, noisePng } from './masks.ts';

const manifest = await loadManifest(DEFAULT_CONFIG.modelManifest);
const PATTERNS = manifest.patterns.map((p) => p.id);

let dir = '';
let store: SharedStore;
let service: Service;
let now = Date.parse('2026-12-01T09:00:00.000Z');
let reportId = '';
let images: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bcc-annotation-'));
  const config = { ...DEFAULT_CONFIG, mode: 'sandbox' as const, port: 0, host: '127.0.0.1', feedbackDbPath: join(dir, 'store.sqlite'), logLevel: 'silent' as const };
  store = await openSqliteStore(config.feedbackDbPath);
  service = await createSandboxService(config, { log: createLogger(() => undefined, 'error'), store, clock: () => new Date(now) });
  const images3 = await Promise.all([lesionJpeg(400, 300, 61), lesionJpeg(400, 300, 62), lesionJpeg(400, 300, 63)]);
  const hook = await request(service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images: images3 }));
  assert.equal(hook.status, 200, JSON.stringify(hook.body));
  const queue = await request(service.app).get('/sandbox/api/queue');
  reportId = String(queue.body.entries[0].reportId);
  const report = await request(service.app).get(`/sandbox/api/reports/${reportId}`);
  images = (report.body.images as { source: string }[]).map((i) => i.source);
  assert.deepEqual(images, ['Media/m0', 'Media/m1', 'Media/m2']);
});

after(async () => {
  await service.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** `annotator` null: no X-Demo-Annotator header. */
function annotate(body: unknown, annotator: string | null = 'derm-a'): Promise<Response> {
  const r = request(service.app).post('/annotations');
  return (annotator === null ? r : r.set('X-Demo-Annotator', annotator)).send(body as object);
}

/** A 4xx OperationOutcome naming the element, and not a row more or less in the store. */
async function assertRefused(send: () => Promise<Response>, status: number, expression: string | undefined, text: RegExp): Promise<void> {
  const before = await store.listAnnotations();
  const res = await send();
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /application\/fhir\+json/);
  assert.equal(res.body.resourceType, 'OperationOutcome');
  const issues = res.body.issue as { expression?: string[]; details?: { text?: string } }[];
  if (expression !== undefined) {
    assert.ok(
      issues.some((i) => i.expression?.includes(expression)),
      `an issue names ${expression}: ${JSON.stringify(issues)}`,
    );
  }
  assert.match(issues.map((i) => i.details?.text ?? '').join('; '), text);
  assert.deepEqual(await store.listAnnotations(), before, 'the store is unchanged');
}

describe('annotation API (sandbox: named demo annotators)', () => {
  it('offers the demo annotators, and how to name one', async () => {
    const res = await request(service.app).get('/annotations/annotators');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { authentication: 'demo', header: 'X-Demo-Annotator', annotators: DEMO_ANNOTATORS });
  });

  it('stores an annotation with its region, the annotator, the time and the model version the report was made with', async () => {
    const res = await annotate({ report: reportId, image: 'Media/m0', pattern: 'ulceration', value: 'present', region: dataUrl(await canvasMask(40, 30, { x0: 10, y0: 5, x1: 20, y1: 15 })) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const a = res.body.annotation as StoredAnnotation;
    assert.equal(res.body.replaced, false);
    assert.equal(a.reportId, reportId);
    assert.equal(a.image, 'Media/m0');
    assert.equal(a.pattern, 'ulceration');
    assert.equal(a.value, 'present');
    assert.deepEqual(a.annotator, { issuer: DEMO_ANNOTATOR_ISSUER, id: 'derm-a', name: 'Demo dermatologist A' });
    assert.deepEqual(a.model, { name: manifest.name, version: manifest.version });
    assert.equal(a.referral, 'ServiceRequest/sr1');
    assert.equal(a.patient, 'Patient/p1');
    assert.equal(a.createdAt, '2026-12-01T09:00:00.000Z');
    assert.equal(a.updatedAt, a.createdAt);
    assert.deepEqual([a.region?.width, a.region?.height], [40, 30]);
    const bits = await maskBits(a.region?.png ?? '');
    assert.equal(bits.bitsPerSample, 1);
    assert.equal(
      bits.bits.reduce((n, b) => n + b, 0),
      100,
      'the 10x10 drawn square, binarised',
    );
    const listed = await request(service.app).get('/annotations').query({ report: reportId });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.annotations, [a]);
    assert.deepEqual(await store.listAnnotations({ reportId }), [{ ...a, region: { ...a.region, png: a.region?.png.replace('data:image/png;base64,', '') } }]);
  });

  it('a second annotation by the same annotator on the same image and pattern replaces the first (200, updatedAt, region gone)', async () => {
    const first = (await store.listAnnotations({ reportId, image: 'Media/m0', pattern: 'ulceration' }))[0];
    assert.ok(first);
    now += 60_000;
    const res = await annotate({ report: reportId, image: 'Media/m0', pattern: 'ulceration', value: 'cannot-tell' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.replaced, true);
    assert.equal(res.body.annotation.id, first.id);
    assert.equal(res.body.annotation.createdAt, first.createdAt);
    assert.equal(res.body.annotation.updatedAt, '2026-12-01T09:01:00.000Z');
    assert.equal(res.body.annotation.region, undefined);
    const other = await annotate({ report: reportId, image: 'Media/m0', pattern: 'ulceration', value: 'absent' }, 'derm-b');
    assert.equal(other.status, 201, 'another annotator: another annotation');
    assert.deepEqual(
      (await store.listAnnotations({ reportId, image: 'Media/m0', pattern: 'ulceration' })).map((x) => [x.annotator.id, x.value]),
      [
        ['derm-a', 'cannot-tell'],
        ['derm-b', 'absent'],
      ],
    );
  });

  it('takes every pattern of the manifest, trained or not', async () => {
    assert.ok(manifest.patterns.some((p) => !p.trained), 'the manifest has untrained patterns');
    for (const p of manifest.patterns) {
      const res = await annotate({ report: reportId, image: 'Media/m1', pattern: p.id, value: 'absent' }, 'derm-c');
      assert.equal(res.status, 201, `${p.id}: ${JSON.stringify(res.body)}`);
    }
  });

  it('refuses bad input with a 4xx OperationOutcome naming the element, and stores nothing', async () => {
    const ok = { report: reportId, image: 'Media/m0', pattern: 'leaf_like_areas', value: 'present' };
    await assertRefused(() => annotate(ok, null), 401, undefined, /X-Demo-Annotator/);
    await assertRefused(() => annotate(ok, 'derm-z'), 401, undefined, /derm-a, derm-b, derm-c/);
    await assertRefused(() => annotate({ ...ok, pattern: 'bcc' }), 400, 'pattern', /unknown pattern; expected one of pigment_network/);
    await assertRefused(() => annotate({ ...ok, pattern: 'Ulceration' }), 400, 'pattern', /unknown pattern/);
    await assertRefused(() => annotate({ ...ok, value: 'maybe' }), 400, 'value', /present|absent|cannot-tell/);
    await assertRefused(() => annotate({ ...ok, value: true }), 400, 'value', /./);
    await assertRefused(() => annotate({ image: ok.image, pattern: ok.pattern, value: ok.value }), 400, 'report', /./);
    await assertRefused(() => annotate({ ...ok, regoin: 'x' }), 400, undefined, /regoin/);
    await assertRefused(() => request(service.app).post('/annotations').set('X-Demo-Annotator', 'derm-a').type('json').send('{"report": '), 400, undefined, /not valid JSON/);
    await assertRefused(() => annotate({ ...ok, report: 'no-such-report' }), 404, 'report', /no triage report "no-such-report"/);
    await assertRefused(() => annotate({ ...ok, image: 'Media/not-in-report' }), 422, 'image', /not an image of report .*Media\/m0, Media\/m1, Media\/m2/);
    await assertRefused(() => annotate({ ...ok, region: 'this is not base64!' }), 400, 'region', /not valid base64/);
    await assertRefused(async () => annotate({ ...ok, region: `data:image/jpeg;base64,${(await lesionJpeg(20, 20)).toString('base64')}` }), 400, 'region', /data:image\/png;base64/);
    await assertRefused(async () => annotate({ ...ok, region: (await lesionJpeg(20, 20)).toString('base64') }), 400, 'region', /must be a PNG/);
    await assertRefused(async () => annotate({ ...ok, region: dataUrl(await greyMask(20, 20, { x0: 0, y0: 0, x1: 0, y1: 0 })) }), 400, 'region', /marks no pixel/);
    await assertRefused(async () => annotate({ ...ok, region: dataUrl(await greyMask(1500, 10, { x0: 0, y0: 0, x1: 5, y1: 5 })) }), 413, 'region', /1500x10 pixels/);
    await assertRefused(async () => annotate({ ...ok, region: dataUrl(await greyMask(40, 40, { x0: 0, y0: 0, x1: 5, y1: 5 })) }), 422, 'region', /image's proportions/);
    const large = await noisePng(440);
    assert.ok(large.length > 256 * 1024 && dataUrl(large).length < 500 * 1024, `${large.length} bytes: over the mask limit, under the body limit`);
    await assertRefused(() => annotate({ ...ok, region: dataUrl(large) }), 413, 'region', /bytes; the limit is 262144/);
    await assertRefused(async () => annotate({ ...ok, region: dataUrl(await noisePng(700)) }), 413, undefined, /request body too large/);
  });

  it('lists by report, image and pattern, and refuses an unknown query parameter', async () => {
    const byImage = await request(service.app).get('/annotations').query({ image: 'Media/m1' });
    assert.equal(byImage.body.annotations.length, PATTERNS.length);
    const byPattern = await request(service.app).get('/annotations').query({ report: reportId, image: 'Media/m0', pattern: 'ulceration' });
    assert.deepEqual(
      (byPattern.body.annotations as StoredAnnotation[]).map((a) => a.annotator.id),
      ['derm-a', 'derm-b'],
    );
    const none = await request(service.app).get('/annotations').query({ report: 'no-such-report' });
    assert.deepEqual(none.body, { annotations: [] });
    const bad = await request(service.app).get('/annotations').query({ reprot: reportId });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /reprot/);
  });

  it('exports a CSV that npm run consensus reads, and Dawid-Skene runs on the three annotators', async () => {
    // Three annotators on the three images, for two patterns: derm-c votes against the others on m2.
    const votes: [string, string, string, string][] = [];
    for (const image of images) {
      for (const annotator of ['derm-a', 'derm-b', 'derm-c']) {
        const disagree = annotator === 'derm-c' && image === 'Media/m2';
        votes.push([image, annotator, 'arborizing_telangiectasia', disagree ? 'absent' : image === 'Media/m1' ? 'absent' : 'present']);
        votes.push([image, annotator, 'spoke_wheel_areas', annotator === 'derm-b' ? 'cannot-tell' : 'absent']);
      }
    }
    for (const [image, annotator, pattern, value] of votes) {
      const res = await annotate({ report: reportId, image, pattern, value }, annotator);
      assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
    }
    const res = await request(service.app).get('/annotations/export.csv');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="annotations.csv"/);
    const text = res.text;
    assert.equal(text.split('\n')[0], 'image,annotator,label,value');
    const all = await store.listAnnotations();
    assert.equal(text.trimEnd().split('\n').length, all.length + 1, 'one row per annotation');
    const sheet = parseAnnotations(text, ['bcc', ...PATTERNS], 'export.csv');
    assert.deepEqual(sheet.annotators, ['derm-a', 'derm-b', 'derm-c']);
    assert.deepEqual([...sheet.images].sort(), images);
    assert.equal(sheet.votes.length, all.filter((a) => a.value !== 'cannot-tell').length, 'cannot tell is no vote');
    const m0 = sheet.votes.find((v) => v.image === 'Media/m0' && v.annotator === 'derm-b' && v.label === 'ulceration');
    assert.equal(m0?.value, 0);
    const result = runConsensus({ annotations: { text, source: 'export.csv' }, labels: ['bcc', ...PATTERNS], generated: '2026-12-01T10:00:00Z' });
    const arborizing = result.results.find((r) => r.label === 'arborizing_telangiectasia');
    assert.equal(arborizing?.status, 'consensus');
    assert.deepEqual(
      arborizing.items.map((i) => [i.image, i.consensus]).sort(),
      [
        ['Media/m0', 1],
        ['Media/m1', 0],
        ['Media/m2', 1],
      ],
      'the majority of three wins over derm-c on m2',
    );
    assert.deepEqual(arborizing.annotators, ['derm-a', 'derm-b', 'derm-c']);
    const spoke = result.results.find((r) => r.label === 'spoke_wheel_areas');
    assert.deepEqual(spoke?.annotators.slice().sort(), ['derm-a', 'derm-c'], 'derm-b could not tell: no votes');
    assert.equal(result.results.find((r) => r.label === 'bcc')?.status, 'not-annotated');
  });

  it('exports a FHIR Bundle that the validator passes against R4: one Observation per annotation, a mask Media per region', async () => {
    now += 60_000;
    const drawn = await annotate({ report: reportId, image: 'Media/m2', pattern: 'blue_gray_ovoid_nests', value: 'present', region: dataUrl(await greyMask(32, 24, { x0: 4, y0: 4, x1: 12, y1: 12 })) }, 'derm-b');
    assert.equal(drawn.status, 201);
    const res = await request(service.app).get('/annotations/export.fhir');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/fhir\+json/);
    const bundle = JSON.parse(res.text) as Bundle;
    const validator = await loadDefaultValidator();
    const outcome = validator.validateBundle(bundle);
    assert.deepEqual(errorIssues(outcome).map(formatIssue), []);
    const all = await store.listAnnotations();
    const observations = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Observation => r?.resourceType === 'Observation');
    const masks = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Media => r?.resourceType === 'Media');
    assert.equal(observations.length, all.length);
    assert.equal(masks.length, all.filter((a) => a.region).length);
    const id = String(drawn.body.annotation.id);
    const obs = observations.find((o) => o.id === id);
    assert.ok(obs);
    assert.equal(obs.status, 'final');
    assert.deepEqual(obs.code.coding?.[0], { system: 'http://bcc-cds.org/fhir/CodeSystem/dermoscopic-pattern', code: 'blue_gray_ovoid_nests', display: 'Blue-gray ovoid nests' });
    assert.equal(obs.valueBoolean, true);
    assert.deepEqual(obs.performer, [{ type: 'Practitioner', identifier: { system: DEMO_ANNOTATOR_ISSUER, value: 'derm-b' }, display: 'Demo dermatologist B' }]);
    assert.equal(obs.effectiveDateTime, '2026-12-01T09:02:00.000Z');
    assert.deepEqual(obs.basedOn, [{ reference: 'ServiceRequest/sr1' }]);
    assert.deepEqual(obs.subject, { reference: 'Patient/p1' });
    assert.equal(obs.derivedFrom?.[0]?.reference, 'Media/m2');
    const maskRef = obs.derivedFrom[1]?.reference ?? '';
    const entry = bundle.entry?.find((e) => e.fullUrl === maskRef);
    assert.equal(entry?.resource?.resourceType, 'Media');
    const mask = entry.resource;
    assert.equal(mask.content.contentType, 'image/png');
    assert.deepEqual([mask.width, mask.height], [32, 24]);
    assert.equal((await maskBits(mask.content.data ?? '')).bits.reduce((n, b) => n + b, 0), 64);
    assert.deepEqual(
      obs.extension?.map((e) => e.valueReference?.reference ?? e.valueString),
      [`DiagnosticReport/${reportId}`, `${manifest.name} ${manifest.version}`],
    );
    const cannotTell = observations.find((o) => o.dataAbsentReason);
    assert.ok(cannotTell, 'a cannot-tell annotation');
    assert.equal(cannotTell.valueBoolean, undefined);
    assert.equal(cannotTell.dataAbsentReason?.coding?.[0]?.code, 'asked-unknown');
    const again = await request(service.app).get('/annotations/export.fhir');
    assert.deepEqual(
      (again.body as Bundle).entry?.map((e) => e.fullUrl),
      bundle.entry?.map((e) => e.fullUrl),
      'stable ids: the same export twice names the same resources',
    );
  });
});
