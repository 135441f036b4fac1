/**
 * Bounded work: the hook queue refuses what it cannot hold with 503 + Retry-After, the deadline
 * answers a hook stuck on its FHIR server, and a graceful shutdown lets admitted hooks finish.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { shutdownGracefully } from '../../src/cds/graceful-shutdown.ts';
import { createWorkQueue } from '../../src/cds/overload.ts';
import { OperationOutcomeError, getStatus } from '../../src/common/outcomes.ts';
import { sendJson, startLoopback } from './loopback.ts';
import type { Loopback } from './loopback.ts';
import { ORDER_SIGN, orderSignHook, startTestService } from './service.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const isBusy = (err: unknown): boolean => err instanceof OperationOutcomeError && getStatus(err.outcome) === 503;

describe('work queue', () => {
  it('runs at most `concurrency` jobs, queues up to maxQueued, refuses the rest', async () => {
    const q = createWorkQueue({ concurrency: 2, maxQueued: 1, maxWaitMs: 10_000 });
    const gate = deferred();
    let peak = 0;
    let running = 0;
    const job = async (): Promise<number> => {
      running++;
      peak = Math.max(peak, running);
      await gate.promise;
      running--;
      return 1;
    };
    const admitted = [q.run(job), q.run(job), q.run(job)];
    await assert.rejects(q.run(job), isBusy);
    assert.deepEqual(q.stats(), { running: 2, queued: 1, draining: false });
    gate.resolve();
    assert.deepEqual(await Promise.all(admitted), [1, 1, 1]);
    assert.equal(peak, 2);
    assert.deepEqual(q.stats(), { running: 0, queued: 0, draining: false });
  });

  it('refuses a job that waited longer than maxWaitMs, and releases slots after failures', async () => {
    const q = createWorkQueue({ concurrency: 1, maxQueued: 5, maxWaitMs: 50 });
    const gate = deferred();
    const first = q.run(() => gate.promise);
    await assert.rejects(q.run(async () => 1), isBusy);
    gate.resolve();
    await first;
    await assert.rejects(q.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await q.run(async () => 7), 7);
  });

  it('drains: refuses new jobs, resolves once admitted ones finished, or false at the timeout', async () => {
    const q = createWorkQueue({ concurrency: 1, maxQueued: 5, maxWaitMs: 10_000 });
    const gate = deferred();
    const a = q.run(() => gate.promise);
    const b = q.run(async () => 'queued-before-drain');
    const drained = q.drain(5000);
    await assert.rejects(q.run(async () => 1), /shutting down/);
    gate.resolve();
    assert.equal(await drained, true);
    await a;
    assert.equal(await b, 'queued-before-drain');
    const stuck = createWorkQueue({ concurrency: 1, maxQueued: 0, maxWaitMs: 10 });
    void stuck.run(() => new Promise<void>(() => undefined));
    assert.equal(await stuck.drain(50), false);
  });
});

/** A FHIR server whose Media search waits until the test releases it. */
let ehr: Loopback;
let release = deferred();
let searches = 0;

before(async () => {
  ehr = await startLoopback(async (req, res) => {
    if (req.url?.startsWith('/fhir/Media')) {
      searches++;
      await release.promise;
      sendJson(res, 200, { resourceType: 'Bundle', type: 'searchset', entry: [] }, 'application/fhir+json');
      return;
    }
    if (req.url?.startsWith('/never/')) {
      return;
    }
    sendJson(res, 404, {});
  });
});
after(() => ehr.stop());

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - t0 < ms, 'condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hook admission through the service', () => {
  it('answers 503 with Retry-After when the hook queue is full, and serves the admitted hooks', async () => {
    const ts = await startTestService({ allowedFhirServers: [ehr.origin], maxConcurrentHooks: 1, maxQueuedHooks: 1, maxQueueWaitMs: 5000, retryAfterSeconds: 3 });
    try {
      release = deferred();
      searches = 0;
      const send = (): Promise<request.Response> => request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ fhirServer: `${ehr.origin}/fhir`, token: 'tok' }));
      const first = send();
      const second = send();
      // Supertest starts a request when awaited or `.then` is called; start both now.
      const running = [first.then((r) => r), second.then((r) => r)];
      await waitFor(() => searches === 1 && ts.service.hookQueue().queued === 1);
      const refused = await send();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '3');
      assert.equal(refused.body.issue[0].code, 'transient');
      release.resolve();
      const done = await Promise.all(running);
      assert.deepEqual(
        done.map((r) => r.status),
        [200, 200],
      );
      assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    } finally {
      await ts.stop();
    }
  });

  it('answers a hook whose FHIR server hangs at the deadline, well before the FHIR timeout', async () => {
    const ts = await startTestService({ allowedFhirServers: [ehr.origin], hookDeadlineMs: 300, fhirTimeoutMs: 1500 });
    try {
      const t0 = Date.now();
      const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ fhirServer: `${ehr.origin}/never`, token: 'tok' }));
      const took = Date.now() - t0;
      assert.equal(res.status, 504);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.match(res.body.issue[0].details.text, /within 300 ms/);
      assert.ok(took < 1200, `answered after ${took} ms`);
    } finally {
      await ts.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight hook finish, refuses new ones meanwhile, then closes', async () => {
    const ts = await startTestService({ allowedFhirServers: [ehr.origin], maxConcurrentHooks: 2, retryAfterSeconds: 1 });
    release = deferred();
    searches = 0;
    const server = ts.service.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/cds-services/${ORDER_SIGN}`;
    const inFlight = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(orderSignHook({ fhirServer: `${ehr.origin}/fhir`, token: 'tok' })) });
    await waitFor(() => searches === 1);
    const logs: string[] = [];
    const shutdown = shutdownGracefully(server, ts.service, { graceMs: 5000, log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) } });
    // Admission is closed: the app refuses new hooks while the old one runs.
    const during = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ fhirServer: `${ehr.origin}/fhir`, token: 'tok' }));
    assert.equal(during.status, 503);
    assert.equal(during.headers['retry-after'], '1');
    // New connections are refused.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    release.resolve();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(((await res.json()) as { cards: unknown[] }).cards));
    await shutdown;
    assert.deepEqual(logs, ['shutting down: draining in-flight hooks', 'shut down']);
  });
});
