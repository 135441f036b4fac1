/**
 * JWKS retrieval: cached, reloaded on an unknown kid (key rotation) at most once per cooldown, and
 * hardened like every other outbound call: no redirects, a size cap, a timeout, public keys only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyStore } from '../../src/cds/auth/key-store.ts';
import type { KeyLocation } from '../../src/cds/auth/trusted-issuers.ts';
import { jwksOf, makeClient } from './jwt-clients.ts';
import type { TestClient } from './jwt-clients.ts';
import { sendJson, startLoopback } from './loopback.ts';
import type { Loopback } from './loopback.ts';

let oldKey: TestClient;
let newKey: TestClient;
let host: Loopback;
let published: { keys: unknown[] };
let dir: string;
let flakyUp = true;

before(async () => {
  [oldKey, newKey] = await Promise.all([makeClient('ES384', 'k-old'), makeClient('RS384', 'k-new')]);
  published = jwksOf(oldKey);
  dir = await mkdtemp(join(tmpdir(), 'bcc-keys-'));
  host = await startLoopback((req, res) => {
    switch (req.url) {
      case '/jwks':
        sendJson(res, 200, published);
        return;
      case '/redirect':
        res.writeHead(302, { location: '/jwks' });
        res.end();
        return;
      case '/huge':
        sendJson(res, 200, { keys: [{ ...oldKey.publicJwk, pad: 'x'.repeat(200_000) }] });
        return;
      case '/huge-chunked':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [{ ...oldKey.publicJwk, pad: 'x'.repeat(200_000) }] }));
        return;
      case '/private':
        sendJson(res, 200, { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k-old' }] });
        return;
      case '/slow':
        // Never answers; the store must give up on its own.
        return;
      case '/flaky':
        sendJson(res, flakyUp ? 200 : 500, flakyUp ? published : {});
        return;
      case '/500':
        sendJson(res, 500, {});
        return;
      default:
        sendJson(res, 404, {});
    }
  });
});

after(async () => {
  await host.stop();
  await rm(dir, { recursive: true, force: true });
});

const url = (path: string): KeyLocation => ({ kind: 'url', url: `${host.origin}${path}` });
const hits = (path: string): number => host.seen.filter((s) => s.url === path).length;
const header = (c: TestClient): { alg: string; kid: string } => ({ alg: c.alg, kid: c.kid });

describe('JWKS key store', () => {
  it('caches a key set, reloads it on an unknown kid after the cooldown, not before', async () => {
    let t = 1_000_000;
    const store = createKeyStore({ now: () => t, refreshCooldownMs: 30_000, cacheMs: 600_000 });
    published = jwksOf(oldKey);
    const before = hits('/jwks');
    await store.keyFor(url('/jwks'), header(oldKey));
    await store.keyFor(url('/jwks'), header(oldKey));
    assert.equal(hits('/jwks') - before, 1, 'one download for two tokens');
    // The issuer rotates to a new key.
    published = jwksOf(oldKey, newKey);
    await assert.rejects(store.keyFor(url('/jwks'), header(newKey)), /no applicable key/i);
    assert.equal(hits('/jwks') - before, 1, 'within the cooldown: no download');
    t += 31_000;
    await store.keyFor(url('/jwks'), header(newKey));
    assert.equal(hits('/jwks') - before, 2, 'after the cooldown: one download');
    // A flood of forged kids costs at most one download per cooldown.
    await Promise.all(Array.from({ length: 20 }, () => store.keyFor(url('/jwks'), { alg: 'ES384', kid: 'forged' }).catch(() => undefined)));
    assert.equal(hits('/jwks') - before, 2);
  });

  it('loads again after the cache lifetime, and keeps the known keys when that fails', async () => {
    let t = 0;
    const store = createKeyStore({ now: () => t, cacheMs: 1000, refreshCooldownMs: 100 });
    published = jwksOf(oldKey);
    await store.keyFor(url('/jwks'), header(oldKey));
    const n = hits('/jwks');
    t += 2000;
    await store.keyFor(url('/jwks'), header(oldKey));
    assert.equal(hits('/jwks'), n + 1);
    // The JWKS host goes down: the keys already known keep working.
    await store.keyFor(url('/flaky'), header(oldKey));
    flakyUp = false;
    t += 2000;
    await store.keyFor(url('/flaky'), header(oldKey));
    assert.equal(hits('/flaky'), 2);
    // Neither expiry nor forged kids retry the dead host before the cooldown is over.
    await store.keyFor(url('/flaky'), header(oldKey));
    await assert.rejects(store.keyFor(url('/flaky'), { alg: 'ES384', kid: 'forged' }));
    assert.equal(hits('/flaky'), 2);
    t += 150;
    await store.keyFor(url('/flaky'), header(oldKey));
    assert.equal(hits('/flaky'), 3);
    flakyUp = true;
  });

  it('does not follow redirects', async () => {
    const store = createKeyStore();
    const n = hits('/jwks');
    await assert.rejects(store.keyFor(url('/redirect'), header(oldKey)), /HTTP 302/);
    assert.equal(hits('/jwks'), n);
  });

  it('refuses an oversized JWKS, declared or streamed', async () => {
    const store = createKeyStore({ maxBytes: 64 * 1024 });
    await assert.rejects(store.keyFor(url('/huge'), header(oldKey)), /limit is 65536/);
    await assert.rejects(store.keyFor(url('/huge-chunked'), header(oldKey)), /bytes/);
  });

  it('gives up on a JWKS host that does not answer', async () => {
    const store = createKeyStore({ timeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(store.keyFor(url('/slow'), header(oldKey)), /timed out|abort/i);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('refuses error answers and sets with private or symmetric keys; a dead host is not asked on every token', async () => {
    let t = 0;
    const store = createKeyStore({ now: () => t });
    const n = hits('/500');
    await assert.rejects(store.keyFor(url('/500'), header(oldKey)), /HTTP 500/);
    await assert.rejects(store.keyFor(url('/500'), header(oldKey)), /HTTP 500/);
    assert.equal(hits('/500'), n + 1);
    t += 6000;
    await assert.rejects(store.keyFor(url('/500'), header(oldKey)), /HTTP 500/);
    assert.equal(hits('/500'), n + 2);
    await assert.rejects(store.keyFor(url('/private'), header(oldKey)), /private or symmetric/);
  });

  it('re-reads a JWKS file when a token names an unknown kid', async () => {
    let t = 0;
    const path = join(dir, 'jwks.json');
    await writeFile(path, JSON.stringify(jwksOf(oldKey)));
    const store = createKeyStore({ now: () => t, refreshCooldownMs: 10 });
    await store.keyFor({ kind: 'file', path }, header(oldKey));
    await writeFile(path, JSON.stringify(jwksOf(newKey)));
    t += 20;
    await store.keyFor({ kind: 'file', path }, header(newKey));
  });
});
