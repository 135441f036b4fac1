import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../src/cds/error-handler.ts';
import { rateLimit } from '../../src/cds/rate-limit.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';

const quiet = { error: (): void => undefined, warn: (): void => undefined };

describe('rate limit', () => {
  let store: SharedStore;
  before(async () => {
    store = await openSqliteStore(':memory:');
  });
  after(async () => {
    await store.close();
  });

  function appAt(now: () => number, requests: number): express.Express {
    const app = express();
    app.post('/hook', rateLimit({ requests, windowSeconds: 60, counters: store, now, log: quiet }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler(quiet));
    return app;
  }

  it('answers 429 with a throttled OperationOutcome and Retry-After to the end of the window, past the limit', async () => {
    // 45 s into a window: 15 s left.
    const t = 1_800_000_040_000 + 5_000;
    const app = appAt(() => t, 2);
    assert.equal((await request(app).post('/hook')).status, 200);
    assert.equal((await request(app).post('/hook')).status, 200);
    const res = await request(app).post('/hook');
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '15');
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.equal(res.body.issue[0].code, 'throttled');
    assert.match(res.body.issue[0].details.text, /at most 2 requests per 60 s/);
  });

  it('counts each window afresh, and counts in the shared store (another app instance sees the same counter)', async () => {
    let t = 1_900_000_020_000;
    const replicaA = appAt(() => t, 1);
    const replicaB = appAt(() => t, 1);
    assert.equal((await request(replicaA).post('/hook')).status, 200);
    assert.equal((await request(replicaB).post('/hook')).status, 429, 'the other replica sees the first hit');
    t += 60_000;
    assert.equal((await request(replicaB).post('/hook')).status, 200, 'next window');
  });
});
