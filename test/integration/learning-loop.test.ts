/**
 * The whole learning loop (issue #16 point 5) on data the test makes, through the real sandbox
 * service (real model, SQLite store): order-sign hooks on synthetic lesions (half with a clearly
 * visible cluster of blue-grey globules) make the reports; three demo annotators label the pattern
 * over HTTP, with a little noise; `npm run learn -- --from-store` learns a head from the store and
 * accepts the candidate; POST /models registers it; it is promoted in the middle of a stream of
 * concurrent hooks (none fails, each answers with the old or the new version, and after the
 * promote the pattern is assessed); a rollback brings the installed version and "not assessed"
 * back; the audit records each step with the demo administrator and the acceptance digest.
 * No timing is asserted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from 'fhir/r4';
import request from 'supertest';
import { canonicalDigest } from '../../src/common/canonical-json.ts';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { DEMO_ADMIN, DEMO_ADMIN_HEADER } from '../../src/sandbox/demo-admin.ts';
import { createSandboxService } from '../../src/sandbox/sandbox-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import type { ViewerModel } from '../../src/viewer/viewer-model.ts';
import { installedJson } from '../registry/candidate.ts';
import { answeredBy } from '../registry/hook-versions.ts';
import type { AnsweredBy } from '../registry/hook-versions.ts';
import { ORDER_SIGN, dermReferral, imageMedia } from '../security/service.ts';
import type { HookBody } from '../security/service.ts';
import { runCli } from '../support/run-cli.ts';
import type { CliRun } from '../support/run-cli.ts';
import { PATTERN, annotationSheet, lesionImage } from '../tools/learn/learn-fixtures.ts';

const INSTALLED = String(installedJson.version);
const DISPLAY = 'Multiple blue-gray globules';
/** 36 images with the globules, 36 without: over the 30 positives and 30 negatives learn needs. */
const PRESENT = 36;
const ABSENT = 36;
/** Training hooks: 12 images a referral, the service's maxImagesPerReferral. */
const PER_HOOK = DEFAULT_CONFIG.maxImagesPerReferral;
const LOAD_HOOKS = 40;
const CONCURRENT = 6;
const PROMOTE_AFTER = 10;
/** The simulated annotators of learn-fixtures (d1 always right, d2 and d3 sometimes wrong, d3 sometimes unsure) as the demo ones. */
const ANNOTATOR: Record<string, string> = { d1: 'derm-a', d2: 'derm-b', d3: 'derm-c' };

let dir = '';
let store: SharedStore;
let service: Service;
/** Media id -> the JPEG the hook sent. */
const bytes = new Map<string, Buffer>();
/** `Media/<id>` -> whether the globules were drawn. */
const truth = new Map<string, boolean>();
const reports: string[] = [];
let candidateVersion = '';
let candidate: { manifest: Record<string, unknown>; acceptance: Record<string, unknown> } | undefined;
let present: Buffer;
let absent: Buffer;

const asAdmin = (r: request.Test): request.Test => r.set(DEMO_ADMIN_HEADER, DEMO_ADMIN);

/** An order-sign hook with one referral and its images in prefetch, each Media with its own id. */
function hookBody(referralId: string, images: readonly (readonly [string, Buffer])[]): HookBody {
  return {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: dermReferral(referralId, 'p1') }] } },
    prefetch: { images: { resourceType: 'Bundle', type: 'searchset', entry: images.map(([id, b]) => ({ resource: imageMedia(id, referralId, 'p1', b) })) } satisfies Bundle },
  };
}

/** The report the sandbox keeps for a referral (its latest). */
async function reportOf(referralId: string): Promise<ViewerModel> {
  // Filtered by referral on no page: the queue is paged (100 at most a page), so look through each.
  let entry: { referral: string; reportId: string } | undefined;
  for (let page = 1, pages = 1; !entry && page <= pages; page++) {
    const queue = await request(service.app).get(`/sandbox/api/queue?pageSize=100&page=${page}`);
    pages = Number(queue.body.pages);
    entry = (queue.body.entries as { referral: string; reportId: string }[]).find((e) => e.referral === `ServiceRequest/${referralId}`);
  }
  assert.ok(entry, `a queue entry for ${referralId}`);
  const res = await request(service.app).get(`/sandbox/api/reports/${entry.reportId}`);
  assert.equal(res.status, 200, res.text);
  return res.body as ViewerModel;
}

interface Answer {
  readonly by: AnsweredBy;
  readonly status: string;
}

/** One hook on one image: the card's and report's version, and the pattern's status in the report. */
async function oneImageHook(referralId: string, image: Buffer): Promise<Answer> {
  const res = await request(service.app).post(`/cds-services/${ORDER_SIGN}`).send(hookBody(referralId, [[`${referralId}-m0`, image]]));
  assert.equal(res.status, 200, res.text);
  const report = await reportOf(referralId);
  const p = report.images[0]?.patterns.find((q) => q.id === PATTERN);
  assert.ok(p, `${PATTERN} in the report of ${referralId}`);
  return { by: answeredBy(res.body), status: p.status };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bcc-learning-loop-'));
  store = await openSqliteStore(join(dir, 'store.sqlite'));
  // Room for the stream: a 503 here would be overload, not the switch under test.
  const config = {
    ...DEFAULT_CONFIG,
    mode: 'sandbox' as const,
    port: 0,
    host: '127.0.0.1',
    feedbackDbPath: join(dir, 'store.sqlite'),
    logLevel: 'silent' as const,
    maxConcurrentHooks: CONCURRENT,
    maxQueuedHooks: LOAD_HOOKS,
    maxQueueWaitMs: 60_000,
    hookDeadlineMs: 60_000,
  };
  service = await createSandboxService(config, { log: createLogger(() => undefined, 'silent'), store });
  [present, absent] = await Promise.all([lesionImage(1000, true), lesionImage(1000 + PRESENT, false)]);
});

after(async () => {
  await service.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the learning loop: annotate over HTTP -> consensus -> learn -> register -> promote under load -> rollback (sandbox)', () => {
  it('makes reports: order-sign hooks on synthetic lesions, half with the globules, 12 images a referral', async () => {
    const all = await Promise.all(Array.from({ length: PRESENT + ABSENT }, async (_, k) => [`l${k}`, await lesionImage(1000 + k, k < PRESENT)] as const));
    const hooks = Math.ceil(all.length / PER_HOOK);
    for (let h = 0; h < hooks; h++) {
      // Interleaved, so each referral has images with and without the pattern.
      const images = all.filter((_, k) => k % hooks === h);
      assert.ok(images.length <= PER_HOOK);
      const referralId = `sr-train-${h}`;
      const res = await request(service.app).post(`/cds-services/${ORDER_SIGN}`).send(hookBody(referralId, images));
      assert.equal(res.status, 200, res.text);
      const answered = answeredBy(res.body);
      assert.deepEqual([answered.card, answered.report], [INSTALLED, INSTALLED]);
      assert.match(answered.notAssessed, new RegExp(DISPLAY), 'the installed model does not assess the pattern');
      const report = await reportOf(referralId);
      assert.deepEqual(
        report.images.map((i) => i.source),
        images.map(([id]) => `Media/${id}`),
        'the report names every image by its Media id',
      );
      for (const i of report.images) {
        assert.equal(i.ok, true, `${i.source}: ${i.reason ?? ''}`);
        assert.equal(i.patterns.find((p) => p.id === PATTERN)?.status, 'not-assessed');
      }
      reports.push(report.reportId);
      for (const [id, b] of images) {
        bytes.set(id, b);
        truth.set(`Media/${id}`, Number(id.slice(1)) < PRESENT);
      }
    }
    assert.equal(bytes.size, PRESENT + ABSENT);
    assert.equal(new Set(reports).size, hooks);
  });

  it('annotates through the HTTP API: three demo annotators on every image, a little noise', async () => {
    const reportOfImage = new Map<string, string>();
    for (const id of reports) {
      const report = (await request(service.app).get(`/sandbox/api/reports/${id}`)).body as ViewerModel;
      for (const i of report.images) {
        reportOfImage.set(i.source, id);
      }
    }
    const rows = annotationSheet(truth).trim().split('\n').slice(1);
    assert.equal(rows.length, 3 * truth.size);
    for (const row of rows) {
      const [image = '', annotator = '', pattern, value] = row.split(',');
      const res = await request(service.app)
        .post('/annotations')
        .set('X-Demo-Annotator', ANNOTATOR[annotator] ?? annotator)
        .send({ report: reportOfImage.get(image), image, pattern, value: value === '1' ? 'present' : value === '0' ? 'absent' : 'cannot-tell' });
      assert.equal(res.status, 201, res.text);
    }
    const stored = await store.listAnnotations();
    assert.equal(stored.length, rows.length);
    assert.deepEqual([...new Set(stored.map((a) => a.annotator.id))].sort(), ['derm-a', 'derm-b', 'derm-c']);
    assert.ok(stored.every((a) => a.pattern === PATTERN && a.model.version === INSTALLED));
    const noisy = stored.filter((a) => a.value !== 'cannot-tell' && (a.value === 'present') !== truth.get(a.image));
    assert.ok(noisy.length > 0, 'some votes disagree with the truth');
    assert.ok(stored.some((a) => a.value === 'cannot-tell'), 'some images an annotator could not tell');
  });

  it('npm run learn -- --from-store learns the pattern from the store and accepts the candidate (exit 0, BCC outputs identical)', async () => {
    const images = join(dir, 'images');
    await mkdir(join(images, 'Media'), { recursive: true });
    for (const [id, b] of bytes) {
      await writeFile(join(images, 'Media', `${id}.jpg`), b);
    }
    const out = join(dir, 'out');
    const run: CliRun = await runCli('src/tools/cli/learn.ts', ['--from-store', '--db', join(dir, 'store.sqlite'), '--images', images, '--pattern', PATTERN, '--out', out, '--cache', join(dir, 'cache')]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /candidate \S+: accepted/);
    const readJson = async (name: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(out, name), 'utf8')) as Record<string, unknown>;
    const acceptance = await readJson('acceptance.json');
    assert.equal(acceptance.accepted, true);
    assert.deepEqual(acceptance.reasons, []);
    assert.ok(Number(acceptance.positives) >= 30 && Number(acceptance.negatives) >= 30, `${String(acceptance.positives)} positives, ${String(acceptance.negatives)} negatives after consensus`);
    assert.deepEqual(acceptance.bccOutputs, { compared: PRESENT + ABSENT, differing: 0, identical: true, maxAbsDifference: 0, compares: 'calibrated BCC probability, exact equality' });
    const consensus = await readJson('consensus.json');
    assert.deepEqual(
      (consensus.annotators as { id: string }[]).map((a) => a.id),
      ['derm-a', 'derm-b', 'derm-c'],
      'Dawid-Skene over the three demo annotators',
    );
    assert.equal((consensus.images as unknown[]).length, PRESENT + ABSENT);
    const files = (await readdir(out)).filter((f) => f.endsWith('.json') && !['acceptance.json', 'consensus.json', 'learn-report.json'].includes(f));
    assert.equal(files.length, 1, `one candidate manifest: ${files.join(', ')}`);
    const manifestJson = await readJson(files[0]!);
    const manifest = parseManifest(manifestJson);
    assert.equal(manifest.learning?.decision, 'accepted');
    assert.equal(manifest.learning.from, INSTALLED);
    assert.equal(manifest.learning.acceptanceSha256, canonicalDigest(acceptance));
    assert.equal(manifest.patterns.find((p) => p.id === PATTERN)?.head, 'learned');
    assert.notEqual(manifest.version, INSTALLED);
    candidateVersion = manifest.version;
    candidate = { manifest: manifestJson, acceptance };
  });

  it('registers the candidate over HTTP (201, not live); the installed version still answers', async () => {
    assert.ok(candidate, 'learn made a candidate');
    assert.equal((await request(service.app).post('/models').send(candidate)).status, 401, 'only the demo administrator registers');
    const res = await asAdmin(request(service.app).post('/models')).send(candidate);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body, { version: candidateVersion, live: false });
    const models = await request(service.app).get('/models');
    assert.equal(models.body.live.version, INSTALLED);
    const v = (models.body.versions as { version: string; live: boolean; promotable: boolean; registeredBy: string; acceptanceSha256: string; patterns: { id: string; assessed: boolean; head: string | null }[] }[]).find((x) => x.version === candidateVersion);
    assert.ok(v);
    assert.deepEqual([v.live, v.promotable, v.registeredBy, v.acceptanceSha256], [false, true, DEMO_ADMIN, canonicalDigest(candidate.acceptance)]);
    assert.deepEqual(
      v.patterns.filter((p) => p.id === PATTERN).map((p) => [p.assessed, p.head]),
      [[true, 'learned']],
    );
    const answer = await oneImageHook('sr-registered', present);
    assert.deepEqual([answer.by.card, answer.by.report, answer.status], [INSTALLED, INSTALLED, 'not-assessed']);
  });

  it('promotes mid-stream of concurrent hooks: none fails, each answers with the old or the new version, and after the promote the pattern is assessed', async () => {
    assert.ok(candidateVersion, 'registered');
    const answers: { k: number; afterPromote: boolean; status: number; by?: AnsweredBy; error?: string }[] = [];
    let started = 0;
    let done = 0;
    let promoted = false;
    let promote: Promise<void> | undefined;
    const doPromote = async (): Promise<void> => {
      const res = await asAdmin(request(service.app).post(`/models/${candidateVersion}/promote`)).send({ reason: 'learning loop test: accepted by npm run learn' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { live: candidateVersion, from: INSTALLED });
      promoted = true;
    };
    const worker = async (): Promise<void> => {
      while (started < LOAD_HOOKS) {
        const k = started++;
        const afterPromote = promoted;
        const res = await request(service.app)
          .post(`/cds-services/${ORDER_SIGN}`)
          .send(hookBody(`sr-load-${k}`, [[`load-${k}`, k % 2 === 0 ? present : absent]]));
        answers.push(res.status === 200 ? { k, afterPromote, status: 200, by: answeredBy(res.body) } : { k, afterPromote, status: res.status, error: res.text });
        done++;
        if (done === PROMOTE_AFTER && !promote) {
          promote = doPromote();
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));
    assert.ok(promote, 'promoted mid-stream');
    await promote;

    assert.equal(answers.length, LOAD_HOOKS);
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'no failed hook');
    assert.deepEqual(answers.filter((a) => a.by?.card !== a.by?.report), [], 'every card and its report name the same version');
    assert.deepEqual(answers.filter((a) => a.by?.card !== INSTALLED && a.by?.card !== candidateVersion), [], 'only the old or the new version');
    assert.deepEqual([...new Set(answers.map((a) => a.by?.card))].sort(), [INSTALLED, candidateVersion].sort(), 'both versions answered in the stream');
    const later = answers.filter((a) => a.afterPromote);
    assert.ok(later.length > 0, 'hooks started after the promote returned');
    assert.deepEqual(later.filter((a) => a.by?.card !== candidateVersion), [], 'after the promote, the new version answers');
    for (const a of answers) {
      if (a.by?.card === candidateVersion) {
        assert.doesNotMatch(a.by.notAssessed, new RegExp(DISPLAY), `hook ${a.k}: the new version assesses the pattern`);
      } else {
        assert.match(a.by?.notAssessed ?? '', new RegExp(DISPLAY), `hook ${a.k}: the installed version does not`);
      }
    }
    assert.equal(service.model.manifest.version, candidateVersion);
    const issued = (await store.listCardOutcomes()).unanswered;
    assert.ok(issued.every((c) => c.modelVersion === INSTALLED || c.modelVersion === candidateVersion));
    assert.equal(issued.filter((c) => c.modelVersion === candidateVersion).length, answers.filter((a) => a.by?.card === candidateVersion).length, 'each issued-card row records the version its card names');

    // After the promote: the report assesses the pattern, and the learned head sees the globules.
    const withGlobules = await oneImageHook('sr-promoted-present', present);
    assert.deepEqual([withGlobules.by.card, withGlobules.by.report], [candidateVersion, candidateVersion]);
    assert.doesNotMatch(withGlobules.by.notAssessed, new RegExp(DISPLAY));
    assert.equal(withGlobules.status, 'present');
    const without = await oneImageHook('sr-promoted-absent', absent);
    assert.equal(without.by.card, candidateVersion);
    assert.equal(without.status, 'absent');
  });

  it('rolls back: the installed version is live again and the pattern is "not assessed"; the audit records every step', async () => {
    assert.ok(candidate && candidateVersion, 'promoted');
    const res = await asAdmin(request(service.app).post('/models/rollback')).send({ reason: 'learning loop test: back to the installed model' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { live: INSTALLED, from: candidateVersion });
    assert.equal((await request(service.app).get('/models')).body.live.version, INSTALLED);
    const answer = await oneImageHook('sr-rolled-back', present);
    assert.deepEqual([answer.by.card, answer.by.report, answer.status], [INSTALLED, INSTALLED, 'not-assessed']);
    assert.match(answer.by.notAssessed, new RegExp(DISPLAY));

    const audit = await request(service.app).get('/models/audit');
    assert.equal(audit.status, 200);
    const digest = canonicalDigest(candidate.acceptance);
    assert.deepEqual(
      (audit.body.entries as Record<string, unknown>[]).map((e) => [e.action, e.version, e.fromVersion, e.actor, e.acceptanceSha256]),
      [
        ['rollback', INSTALLED, candidateVersion, DEMO_ADMIN, null],
        ['promote', candidateVersion, INSTALLED, DEMO_ADMIN, digest],
        ['register', candidateVersion, null, DEMO_ADMIN, digest],
        ['install', INSTALLED, null, 'system', null],
      ],
    );
    assert.equal(audit.body.entries[1].reason, 'learning loop test: accepted by npm run learn');
  });
});
