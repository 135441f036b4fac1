/**
 * npm run soak -- [--requests 3000] [--seconds 240] [--concurrency 8] [--burst 64]
 *
 * A bounded soak on loopback: the service as createService builds it in production mode (client
 * JWT auth on, CORS, hook queue, the real model), listening on 127.0.0.1, and `concurrency` clients
 * sending a mix of good and bad calls until `requests` were sent or `seconds` passed. Good hooks
 * carry their images in prefetch (no FHIR server). Then one burst of `burst` simultaneous good
 * hooks to show overload answers (503 + Retry-After) instead of a pile-up. Reports requests,
 * answers by class, unexpected answers, p50/p99 latency per kind, and RSS/heap before, during and
 * after (after a GC when run with --expose-gc, as `npm run soak` does).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';
import { createService } from '../src/service/create-service.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_CONFIG } from '../src/config.ts';
import { loadGateConfig, withModelChecks } from '../src/gate/gate-config.ts';
import { createLogger } from '../src/common/logger.ts';
import { lesionJpeg } from '../test/helpers/images.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '240' },
    concurrency: { type: 'string', default: '8' },
    burst: { type: 'string', default: '64' },
  },
});
const REQUESTS = Number(args.requests);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const BURST = Number(args.burst);

const BASE = 'https://cds.soak.example';
const ISS = 'https://ehr.soak.example';
const SERVICE = 'bcc-triage-order-sign';
const HOOK_PATH = `/cds-services/${SERVICE}`;

interface Call {
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** The status this call must get; anything else is counted as unexpected. */
  readonly expect: number;
}

async function main(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'soak', alg: 'ES384', use: 'sig' };
  const logs = { warn: 0, error: 0 };
  const service = await createService(
    {
      ...DEFAULT_CONFIG,
      mode: 'production',
      publicBaseUrl: BASE,
      feedbackDbPath: ':memory:',
      maxBodyBytes: 2 * 1024 * 1024,
      corsOrigins: ['https://ehr.soak.example'],
      logLevel: 'silent',
    },
    {
      // Synthetic images: the model checks warn so good hooks do the full work (bench/service-process.ts).
      gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
      log: createLogger((line) => {
        if (line.includes('"level":"warn"')) {
          logs.warn++;
        } else if (line.includes('"level":"error"')) {
          logs.error++;
        }
      }, 'info'),
      trustedIssuers: [{ iss: ISS, keys: { kind: 'inline', jwks: { keys: [{ ...jwk, kty: jwk.kty ?? 'EC' }] } }, jkuAllowList: [] }],
    },
  );
  const server = service.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const images = await Promise.all([1, 2, 3, 4].map((seed) => lesionJpeg(480, 360, seed)));
  const truncated = images[0]?.subarray(0, 4000) ?? Buffer.alloc(0);
  const calls = makeCalls(privateKey, images, truncated);

  // Warm-up: the first inference pays for ORT arena allocation and JIT.
  for (let i = 0; i < 5; i++) {
    await send(origin, await calls.good(1));
  }
  gc();
  const before = memory();
  const samples: { readonly at: number; readonly rss: number; readonly heap: number }[] = [];

  const latencies = new Map<string, number[]>();
  const statuses = new Map<string, number>();
  const unexpected = new Map<string, number>();
  const peak = { running: 0, queued: 0 };
  const watch = setInterval(() => {
    const q = service.hookQueue();
    peak.running = Math.max(peak.running, q.running);
    peak.queued = Math.max(peak.queued, q.queued);
  }, 2);
  let sent = 0;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  async function client(): Promise<void> {
    while (sent < REQUESTS && performance.now() < deadline) {
      const n = sent++;
      const call = await calls.pick(n);
      const { status, ms } = await send(origin, call);
      push(latencies, call.kind, ms);
      bump(statuses, `${call.kind} ${status}`);
      if (status !== call.expect) {
        bump(unexpected, `${call.kind}: expected ${call.expect}, got ${status}`);
      }
      if (n % Math.max(1, Math.floor(REQUESTS / 8)) === 0) {
        const m = memory();
        samples.push({ at: n, rss: m.rss, heap: m.heap });
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, () => client()));
  const elapsed = (performance.now() - t0) / 1000;

  // Burst: more simultaneous hooks than the queue holds.
  const burstCalls = await Promise.all(Array.from({ length: BURST }, () => calls.good(2)));
  const peakBefore = { ...peak };
  peak.running = 0;
  peak.queued = 0;
  const burst = await Promise.all(burstCalls.map((c) => send(origin, c)));
  clearInterval(watch);
  const burstStatus = new Map<string, number>();
  for (const b of burst) {
    bump(burstStatus, `${b.status}${b.retryAfter ? ` (Retry-After ${b.retryAfter})` : ''}`);
  }

  await new Promise((r) => setTimeout(r, 200));
  gc();
  const after = memory();
  const healthy = (await fetch(`${origin}/healthz`)).status;
  server.closeAllConnections();
  server.close();
  await service.close();

  const all = [...latencies.values()].flat();
  const lines: string[] = [];
  lines.push(`Soak: ${sent} requests in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(1)}/s), ${CONCURRENCY} clients, Node ${process.version}, ${availableParallelism()} cores`);
  lines.push('');
  lines.push('| kind | requests | statuses | p50 ms | p99 ms |');
  lines.push('| --- | ---: | --- | ---: | ---: |');
  for (const [kind, ms] of [...latencies.entries()].sort()) {
    const st = [...statuses.entries()].filter(([k]) => k.startsWith(`${kind} `)).map(([k, v]) => `${k.slice(kind.length + 1)}: ${v}`).join(', ');
    lines.push(`| ${kind} | ${ms.length} | ${st} | ${pct(ms, 50).toFixed(1)} | ${pct(ms, 99).toFixed(1)} |`);
  }
  lines.push(`| all | ${all.length} | | ${pct(all, 50).toFixed(1)} | ${pct(all, 99).toFixed(1)} |`);
  lines.push('');
  lines.push(`Answers by class: ${[...classes(statuses).entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`Unexpected answers: ${unexpected.size === 0 ? 'none' : [...unexpected.entries()].map(([k, v]) => `${k} x${v}`).join('; ')}`);
  lines.push(`Hook queue peak (running/queued, limits ${DEFAULT_CONFIG.maxConcurrentHooks}/${DEFAULT_CONFIG.maxQueuedHooks}): mixed ${peakBefore.running}/${peakBefore.queued}, burst ${peak.running}/${peak.queued}`);
  lines.push(`Burst of ${BURST} simultaneous hooks: ${[...burstStatus.entries()].map(([k, v]) => `${k} x${v}`).join(', ')}`);
  lines.push(`Service log lines: ${logs.warn} warn, ${logs.error} error; /healthz after: ${healthy}`);
  lines.push(`RSS MiB: before ${mib(before.rss)}, during ${samples.map((s) => mib(s.rss)).join(' / ')}, after ${mib(after.rss)}`);
  lines.push(`Heap used MiB: before ${mib(before.heap)}, during ${samples.map((s) => mib(s.heap)).join(' / ')}, after ${mib(after.heap)}${hasGc() ? ' (after GC)' : ' (no --expose-gc)'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (unexpected.size > 0 || healthy !== 200) {
    process.exitCode = 1;
  }
}

/** The mix: what an EHR sends on a good day, and what a broken or hostile client sends. */
function makeCalls(key: CryptoKey, images: readonly Buffer[], truncated: Buffer): { good(n: number): Promise<Call>; pick(i: number): Promise<Call> } {
  const jwt = (path: string, o: { readonly iat?: number; readonly exp?: number; readonly aud?: string } = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'soak-client', jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: 'soak', typ: 'JWT' })
      .setIssuer(ISS)
      .setAudience(o.aud ?? `${BASE}${path}`)
      .setIssuedAt(o.iat ?? now)
      .setExpirationTime(o.exp ?? now + 120)
      .sign(key);
  };
  const auth = async (path: string): Promise<Record<string, string>> => ({ authorization: `Bearer ${await jwt(path)}`, 'content-type': 'application/json' });
  const hook = (imgs: readonly Buffer[], referrals = 1): string => {
    const refs = Array.from({ length: referrals }, (_, r) => ({
      resourceType: 'ServiceRequest',
      id: `sr${r}`,
      status: 'draft',
      intent: 'order',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003' }] },
      subject: { reference: 'Patient/p1' },
    }));
    return JSON.stringify({
      hook: 'order-sign',
      hookInstance: randomUUID(),
      context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: refs.map((resource) => ({ resource })) } },
      prefetch: {
        images: {
          resourceType: 'Bundle',
          type: 'searchset',
          entry: imgs.map((b, k) => ({
            resource: { resourceType: 'Media', id: `m${k}`, status: 'completed', basedOn: [{ reference: 'ServiceRequest/sr0' }], subject: { reference: 'Patient/p1' }, content: { contentType: 'image/jpeg', data: b.toString('base64') } },
          })),
        },
      },
    });
  };
  const good = async (n: number): Promise<Call> => ({ kind: `hook, ${n} image(s)`, method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: hook(images.slice(0, n)), expect: 200 });
  // Weighted: 55% good hooks, the rest spread over the ways a call goes wrong.
  const kinds: readonly (readonly [number, (i: number) => Promise<Call>])[] = [
    [35, () => good(1)],
    [15, () => good(2)],
    [5, async () => ({ kind: 'hook, no referral', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: hook([], 0), expect: 200 })],
    [5, async () => ({ kind: 'hook, truncated JPEG', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: hook([truncated]), expect: 200 })],
    [4, async () => ({ kind: 'discovery', method: 'GET', path: '/cds-services', headers: await auth('/cds-services'), expect: 200 })],
    [4, async () => ({ kind: 'feedback', method: 'POST', path: `${HOOK_PATH}/feedback`, headers: await auth(`${HOOK_PATH}/feedback`), body: JSON.stringify({ feedback: [{ card: randomUUID(), outcome: 'accepted', outcomeTimestamp: new Date().toISOString() }] }), expect: 200 })],
    [5, async () => ({ kind: 'bad JWT: expired', method: 'POST', path: HOOK_PATH, headers: { authorization: `Bearer ${await jwt(HOOK_PATH, { iat: Math.floor(Date.now() / 1000) - 400, exp: Math.floor(Date.now() / 1000) - 100 })}`, 'content-type': 'application/json' }, body: hook(images.slice(0, 1)), expect: 401 })],
    [5, async () => ({ kind: 'bad JWT: wrong aud', method: 'POST', path: HOOK_PATH, headers: { authorization: `Bearer ${await jwt('/cds-services')}`, 'content-type': 'application/json' }, body: hook(images.slice(0, 1)), expect: 401 })],
    [4, async () => ({ kind: 'bad JWT: none', method: 'GET', path: '/cds-services', headers: { authorization: 'Bearer not.a.jwt' }, expect: 401 })],
    [4, async () => ({ kind: 'no JWT', method: 'POST', path: HOOK_PATH, headers: { 'content-type': 'application/json' }, body: hook(images.slice(0, 1)), expect: 401 })],
    [4, async () => ({ kind: 'malformed JSON', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: '{"hook": "order-sign", "context": {', expect: 400 })],
    [3, async () => ({ kind: 'wrong shape', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: JSON.stringify({ hook: 'order-sign', context: [] }), expect: 400 })],
    [3, async () => ({ kind: 'too many referrals', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: hook([], DEFAULT_CONFIG.maxReferrals + 1), expect: 422 })],
    [2, async () => ({ kind: 'body over 2 MiB', method: 'POST', path: HOOK_PATH, headers: await auth(HOOK_PATH), body: JSON.stringify({ pad: 'x'.repeat(2.5 * 1024 * 1024) }), expect: 413 })],
    [2, async () => ({ kind: 'unknown service', method: 'POST', path: '/cds-services/nope', headers: await auth('/cds-services/nope'), body: hook([]), expect: 404 })],
  ];
  const total = kinds.reduce((a, [w]) => a + w, 0);
  return {
    good,
    pick(i: number): Promise<Call> {
      // A fixed, evenly spread sequence (golden-ratio stride), so runs are comparable.
      let r = ((i * 0.6180339887) % 1) * total;
      for (const [w, make] of kinds) {
        if (r < w) {
          return make(i);
        }
        r -= w;
      }
      return good(1);
    },
  };
}

async function send(origin: string, call: Call): Promise<{ status: number; ms: number; retryAfter: string | null }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${origin}${call.path}`, { method: call.method, headers: call.headers, ...(call.body !== undefined ? { body: call.body } : {}) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t0, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 0, ms: performance.now() - t0, retryAfter: null };
  }
}

function classes(statuses: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of statuses) {
    const status = Number(k.split(' ').at(-1));
    bump(out, status === 0 ? 'network error' : `${Math.floor(status / 100)}xx`, v);
  }
  return out;
}

function bump<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

function push(m: Map<string, number[]>, k: string, v: number): void {
  const list = m.get(k) ?? [];
  list.push(v);
  m.set(k, list);
}

function pct(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN) : Number.NaN;
}

function memory(): { readonly rss: number; readonly heap: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function hasGc(): boolean {
  return typeof globalThis.gc === 'function';
}

function gc(): void {
  globalThis.gc?.();
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
