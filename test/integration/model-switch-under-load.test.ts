/**
 * Promote and roll back while hooks keep coming (issue #16 point 4), in the sandbox (the demo
 * model administrator, X-Demo-Admin): a steady stream of concurrent hooks, a promote after the
 * first few and a rollback later. No hook fails; each answers with one of the two versions, both
 * occur, and no hook mixes them (its card and its report name the same version). No timing is
 * asserted: the switches land wherever they land in the stream.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { DEMO_ADMIN, DEMO_ADMIN_HEADER } from '../../src/sandbox/demo-admin.ts';
import { createSandboxService } from '../../src/sandbox/sandbox-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { installedJson, learnedCandidate } from '../registry/candidate.ts';
import { answeredBy } from '../registry/hook-versions.ts';
import { ORDER_SIGN, orderSignHook } from '../security/service.ts';

const INSTALLED = String(installedJson.version);
const CANDIDATE = '1.6.0-load';
const HOOKS = 60;
const CONCURRENT = 8;

let dir = '';
let store: SharedStore;
let service: Service;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bcc-model-load-'));
  store = await openSqliteStore(join(dir, 'store.sqlite'));
  // Room for the stream: a 503 here would be overload, not the switch under test.
  const config = { ...DEFAULT_CONFIG, mode: 'sandbox' as const, port: 0, logLevel: 'silent' as const, maxConcurrentHooks: CONCURRENT, maxQueuedHooks: HOOKS, maxQueueWaitMs: 60_000, hookDeadlineMs: 60_000 };
  service = await createSandboxService(config, { log: createLogger(() => undefined, 'silent'), store });
});

after(async () => {
  await service.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const asAdmin = (r: request.Test): request.Test => r.set(DEMO_ADMIN_HEADER, DEMO_ADMIN);

describe('switching the model under load (sandbox)', () => {
  it('the sandbox takes X-Demo-Admin: it-admin and nothing else', async () => {
    const c = learnedCandidate(CANDIDATE);
    assert.equal((await request(service.app).post('/models').send(c)).status, 401);
    assert.equal((await request(service.app).post('/models').set(DEMO_ADMIN_HEADER, 'someone').send(c)).status, 401);
    const res = await asAdmin(request(service.app).post('/models')).send(c);
    assert.equal(res.status, 201, res.text);
    assert.equal((await store.listAudit())[0]?.actor, DEMO_ADMIN);
  });

  it('promote then rollback during a stream of concurrent hooks: none fails, none mixes versions, both versions answer', async () => {
    const images = await Promise.all([0, 1, 2].map((k) => lesionJpeg(360 + 20 * k, 280, 90 + k)));
    const answers: { status: number; card?: string; report?: string; error?: string }[] = [];
    let started = 0;
    let done = 0;
    const switches: Promise<void>[] = [];
    const at = (n: number, change: () => Promise<void>): void => {
      if (done === n) {
        switches.push(change());
      }
    };
    const promote = async (): Promise<void> => {
      const res = await asAdmin(request(service.app).post(`/models/${CANDIDATE}/promote`)).send({ reason: 'load test' });
      assert.equal(res.status, 200, res.text);
    };
    const rollback = async (): Promise<void> => {
      const res = await asAdmin(request(service.app).post('/models/rollback')).send({});
      assert.deepEqual(res.body, { live: INSTALLED, from: CANDIDATE });
    };
    const worker = async (): Promise<void> => {
      while (started < HOOKS) {
        const k = started++;
        const res = await request(service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images: [images[k % images.length] ?? Buffer.alloc(0)], referralId: `sr-${k}` }));
        if (res.status === 200) {
          const a = answeredBy(res.body);
          answers.push({ status: 200, card: a.card, report: a.report });
        } else {
          answers.push({ status: res.status, error: res.text });
        }
        done++;
        at(Math.floor(HOOKS / 4), promote);
        at(Math.floor((HOOKS * 3) / 4), rollback);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));
    await Promise.all(switches);

    assert.equal(switches.length, 2, 'promoted and rolled back mid-stream');
    assert.equal(answers.length, HOOKS);
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'no failed hook');
    assert.deepEqual(answers.filter((a) => a.card !== a.report), [], 'every card and its report name the same version');
    const versions = new Set(answers.map((a) => a.card));
    assert.deepEqual([...versions].sort(), [CANDIDATE, INSTALLED].sort(), 'both versions answered, and only they');
    const issued = (await store.listCardOutcomes()).unanswered;
    assert.equal(issued.length, HOOKS);
    assert.ok(issued.every((c) => c.modelVersion === CANDIDATE || c.modelVersion === INSTALLED));
    assert.equal(issued.filter((c) => c.modelVersion === CANDIDATE).length, answers.filter((a) => a.card === CANDIDATE).length, 'each issued-card row records the version its card names');
    assert.equal(service.model.manifest.version, INSTALLED, 'rolled back at the end');
  });
});
