/**
 * npm run test:scale: BCC-CDS as three stateless replicas behind a load balancer, on loopback.
 * PostgreSQL (Debian binaries, a throwaway cluster) holds the shared state; nginx (Debian) balances.
 * Shows: hooks served by every replica; feedback on a card issued by one replica, sent through
 * another, stored joined to it; a client JWT replayed to a different replica refused; throughput
 * with 1 and 3 replicas; a replica killed (SIGKILL) mid-load losing no acknowledged feedback and
 * failing only requests in flight to it. Everything started here is stopped at the end, failure
 * included. Exit 0 when every check holds; the summary goes to stdout (and --json <file>).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { syntheticDermoscopyJpeg } from '../../bench/synthetic-images.ts';
import { DEFAULT_IMAGE_GATE, IMAGE_GATE_ENV, PROJECT_ROOT } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { openPostgresStore } from '../../src/storage/postgres-store.ts';
import { jwksOf, makeClient, signClientJwt } from '../security/jwt-clients.ts';
import { ORDER_SIGN, orderSignHook } from '../security/service.ts';
import { stopProcess } from '../support/child-process.ts';
import type { Nginx } from '../support/nginx.ts';
import { startNginx } from '../support/nginx.ts';
import type { PostgresCluster } from '../support/postgres.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { startPostgres } from '../support/postgres.ts';

const ISS = 'https://ehr.scale.example.org';
const REPLICAS = 3;
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});
const LOAD_MS = Number(args.seconds) * 1000;
const CONCURRENCY = Number(args.concurrency);

interface Replica {
  readonly port: number;
  readonly child: ChildProcess;
}

const checks: { name: string; ok: boolean; detail: string }[] = [];
function check(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}\n`);
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-scale-'));
  let cluster: PostgresCluster | undefined;
  let nginx: Nginx | undefined;
  const replicas: Replica[] = [];
  try {
    cluster = await startPostgres();
    const databaseUrl = await cluster.createDatabase('bcc_cds');
    const client = await makeClient('ES384', 'scale-1');
    // The load's synthetic images are refused by the model's own gate; warn instead, so each hook
    // does the full work (report, heatmaps) a real dermoscopic image costs.
    const gateFile = join(dir, 'image-gate.json');
    await writeFile(gateFile, JSON.stringify(withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn')));
    const issuersFile = join(dir, 'issuers.json');
    await writeFile(issuersFile, JSON.stringify({ issuers: [{ iss: ISS, jwks: jwksOf(client) }] }));
    const lb3 = await freeLoopbackPort();
    const lb1 = await freeLoopbackPort();
    const ports: number[] = [];
    while (ports.length < REPLICAS) {
      const p = await freeLoopbackPort();
      if (![lb3, lb1, ...ports].includes(p)) {
        ports.push(p);
      }
    }
    // Every replica checks `aud` against the balancer's URL, the one clients call.
    const publicBaseUrl = `http://127.0.0.1:${lb3}`;
    const env = {
      BCC_CDS_MODE: 'production',
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: publicBaseUrl,
      // Hooks carry their images in prefetch; this server is never called.
      FHIR_ALLOWED_SERVERS: 'http://127.0.0.1:9/fhir',
      TRUSTED_ISSUERS_FILE: issuersFile,
      [IMAGE_GATE_ENV]: gateFile,
      DATABASE_URL: databaseUrl,
      // Generous: the counters are exercised in PostgreSQL without refusing the load.
      RATE_LIMIT_REQUESTS: '1000000',
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '5000',
    };
    process.stdout.write(`PostgreSQL on ${cluster.port}; starting ${REPLICAS} replicas on ${ports.join(', ')}\n`);
    // Pushed as they spawn, so a replica that fails to start does not strand the others.
    await Promise.all(ports.map((port, i) => startReplica(port, { ...env, PORT: String(port) }, join(dir, `replica-${i + 1}.log`), replicas)));
    nginx = await startNginx([
      { port: lb3, upstreams: ports },
      { port: lb1, upstreams: ports.slice(0, 1) },
    ]);
    process.stdout.write(`nginx: ${REPLICAS} replicas behind ${lb3}, replica 1 alone behind ${lb1}\n`);

    const image = await syntheticDermoscopyJpeg(640, 480, 7);
    const hookPath = `/cds-services/${ORDER_SIGN}`;
    const token = (path: string): Promise<string> => signClientJwt(client, { iss: ISS, aud: `${publicBaseUrl}${path}`, sub: 'scale-client' });
    const post = async (port: number, path: string, body: unknown, bearer?: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer ?? (await token(path))}` },
        body: JSON.stringify(body),
      });

    // 1. Hooks through the balancer reach every replica.
    const upstreams = new Map<string, number>();
    for (let i = 0; i < REPLICAS * 4; i++) {
      const res = await post(lb3, hookPath, orderSignHook({ images: [image] }));
      await res.text();
      if (res.status === 200) {
        const u = res.headers.get('x-upstream-addr') ?? '?';
        upstreams.set(u, (upstreams.get(u) ?? 0) + 1);
      }
    }
    check('hooks served by all replicas', upstreams.size === REPLICAS, JSON.stringify(Object.fromEntries(upstreams)));

    // 2. A card issued by replica 1; feedback on it through replica 2; stored, joined to the card.
    const [r1, r2, r3] = ports.map((p) => replicas.find((r) => r.port === p)) as [Replica, Replica, Replica];
    const hook = await post(r1.port, hookPath, orderSignHook({ images: [image] }));
    const cardUuid = ((await hook.json()) as { cards: { uuid: string }[] }).cards[0]?.uuid ?? '';
    const fbPath = `${hookPath}/feedback`;
    const fb = await post(r2.port, fbPath, { feedback: [{ card: cardUuid, outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] });
    await fb.text();
    const store = await openPostgresStore(databaseUrl);
    try {
      const stored = (await store.listFeedback(1000)).find((f) => f.card === cardUuid);
      check(
        'feedback through replica 2 on a card issued by replica 1',
        hook.status === 200 && fb.status === 200 && stored?.issued?.uuid === cardUuid,
        `hook ${hook.status} on :${r1.port}, feedback ${fb.status} on :${r2.port}, stored joined to the issued card: ${stored?.issued ? 'yes' : 'no'}`,
      );
    } finally {
      await store.close();
    }

    // 3. One JWT, accepted by replica 1, replayed to replica 3.
    const once = await token('/cds-services');
    const first = await fetch(`http://127.0.0.1:${r1.port}/cds-services`, { headers: { authorization: `Bearer ${once}` } });
    const replay = await fetch(`http://127.0.0.1:${r3.port}/cds-services`, { headers: { authorization: `Bearer ${once}` } });
    check('replayed jti refused by another replica', first.status === 200 && replay.status === 401, `first use :${r1.port} ${first.status}, replay :${r3.port} ${replay.status}`);

    // 4. Throughput: replica 1 alone, then all three, through nginx, same client load.
    const single = await load(lb1, hookPath, image, token, LOAD_MS);
    const triple = await load(lb3, hookPath, image, token, LOAD_MS);
    for (const [label, r] of [
      ['1 replica', single],
      ['3 replicas', triple],
    ] as const) {
      process.stdout.write(`throughput ${label}: ${r.perSecond.toFixed(1)} hooks/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ${r.ok} ok, ${r.failed} failed\n`);
    }
    check('load without errors (1 and 3 replicas)', single.failed === 0 && triple.failed === 0, `${single.failed} + ${triple.failed} failed`);

    // 5. Kill replica 3 (SIGKILL) mid-load: hooks and feedback keep going through the others.
    const kill = await loadWithKill(lb3, hookPath, fbPath, image, token, r3, LOAD_MS);
    const after = await openPostgresStore(databaseUrl);
    let missing: string[];
    try {
      const stored = new Set((await after.listFeedback(1_000_000)).map((f) => f.card));
      missing = kill.acknowledgedFeedback.filter((c) => !stored.has(c));
    } finally {
      await after.close();
    }
    check(
      'replica killed mid-load: no acknowledged feedback lost',
      missing.length === 0 && kill.acknowledgedFeedback.length > 0,
      `${kill.acknowledgedFeedback.length} feedback acknowledged, ${missing.length} missing from PostgreSQL`,
    );
    check(
      'replica killed mid-load: only requests in flight to it failed',
      kill.failedStartedAfterKill === 0 && kill.failed <= CONCURRENCY && kill.okAfterKill > 0,
      `${kill.failed} failed, ${kill.failedStartedAfterKill} of them started after the kill (at most ${CONCURRENCY} in flight); ${kill.okAfterKill} succeeded after it; failures: ${JSON.stringify(kill.failureKinds)} starting at ${JSON.stringify(kill.failureStartsMs)} ms from the kill`,
    );

    const summary = {
      machine: { cores: (await import('node:os')).cpus().length },
      replicas: REPLICAS,
      concurrency: CONCURRENCY,
      loadSeconds: LOAD_MS / 1000,
      image: '640x480 synthetic JPEG in prefetch',
      throughput: { oneReplica: single, threeReplicas: triple },
      kill: { ...kill, acknowledgedFeedback: kill.acknowledgedFeedback.length },
      checks,
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    if (args.json) {
      await writeFile(args.json, `${JSON.stringify(summary, null, 2)}\n`);
    }
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    await Promise.all(replicas.map((r) => stopProcess(r.child)));
    await nginx?.stop();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(`stopped ${replicas.length} replicas, nginx and PostgreSQL (${Math.round((Date.now() - t0) / 1000)} s in all)\n`);
  }
}

async function startReplica(port: number, env: Record<string, string>, logFile: string, started: Replica[]): Promise<void> {
  // `npm start`'s command line.
  const child = spawn(process.execPath, ['--experimental-websocket', '--import', 'tsx', 'src/server.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push({ port, child });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`replica on ${port} exited (${child.exitCode}): ${stderr}`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) {
      return;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`replica on ${port} not ready after 120 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface LoadSummary {
  readonly ok: number;
  readonly failed: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) : 0;
}

type Signer = (path: string) => Promise<string>;

async function hookOnce(port: number, path: string, image: Buffer, token: Signer): Promise<{ status: number; card?: string; error?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(path)}` },
      body: JSON.stringify(orderSignHook({ images: [image] })),
    });
    const text = await res.text();
    if (res.status !== 200) {
      return { status: res.status };
    }
    const card = (JSON.parse(text) as { cards: { uuid?: string }[] }).cards[0]?.uuid;
    return card ? { status: 200, card } : { status: 200, error: 'no card' };
  } catch (err) {
    return { status: 0, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Closed loop: CONCURRENCY clients, each sending its next hook when the last one answered. */
async function load(port: number, path: string, image: Buffer, token: Signer, ms: number): Promise<LoadSummary> {
  // A short warm-up, not counted.
  const warmEnd = Date.now() + 2000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < warmEnd) {
      await hookOnce(port, path, image, token);
    }
  }));
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const end = Date.now() + ms;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const t = performance.now();
      const r = await hookOnce(port, path, image, token);
      if (r.status === 200 && !r.error) {
        latencies.push(performance.now() - t);
      } else {
        failed++;
      }
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { ok: latencies.length, failed, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

interface KillResult {
  readonly ok: number;
  readonly failed: number;
  readonly failedStartedAfterKill: number;
  readonly okAfterKill: number;
  readonly failureKinds: Record<string, number>;
  /** When each failed request started, relative to the kill (ms; negative: before it). */
  readonly failureStartsMs: number[];
  readonly acknowledgedFeedback: string[];
}

/** Hooks, each followed by feedback on its card, through the balancer; replica `victim` is SIGKILLed a third of the way in. */
async function loadWithKill(port: number, hookPath: string, fbPath: string, image: Buffer, token: Signer, victim: Replica, ms: number): Promise<KillResult> {
  const acknowledged: string[] = [];
  const failureKinds: Record<string, number> = {};
  const failureStarts: number[] = [];
  let ok = 0;
  let failed = 0;
  let okAfterKill = 0;
  let killedAt = Number.POSITIVE_INFINITY;
  const fail = (kind: string, startedAt: number): void => {
    failed++;
    failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
    failureStarts.push(startedAt);
  };
  const end = Date.now() + ms;
  // "Killed" is when the process is gone: until the kernel has torn it down (tens to hundreds of ms
  // for a loaded 300 MB process) its socket still takes connections, and those requests are in flight to it.
  const killer = new Promise<void>((resolve) =>
    setTimeout(() => {
      const signalledAt = Date.now();
      victim.child.once('exit', () => {
        killedAt = Date.now();
        process.stdout.write(`killed replica on :${victim.port} (SIGKILL) mid-load; exited ${killedAt - signalledAt} ms after the signal\n`);
        resolve();
      });
      victim.child.kill('SIGKILL');
    }, ms / 3),
  );
  await Promise.all([
    killer,
    ...Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const startedAt = Date.now();
        const h = await hookOnce(port, hookPath, image, token);
        if (h.status !== 200 || !h.card) {
          fail(`hook ${h.status}${h.error ? ` ${h.error}` : ''}`, startedAt);
          continue;
        }
        const fbStarted = Date.now();
        try {
          const res = await fetch(`http://127.0.0.1:${port}${fbPath}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(fbPath)}` },
            body: JSON.stringify({ feedback: [{ card: h.card, outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] }),
          });
          await res.text();
          if (res.status === 200) {
            acknowledged.push(h.card);
            ok++;
            if (fbStarted > killedAt) {
              okAfterKill++;
            }
          } else {
            fail(`feedback ${res.status}`, fbStarted);
          }
        } catch (err) {
          fail(`feedback network: ${err instanceof Error ? err.message : String(err)}`, fbStarted);
        }
      }
    }),
  ]);
  const failureStartsMs = failureStarts.map((t) => t - killedAt);
  return { ok, failed, failedStartedAfterKill: failureStartsMs.filter((d) => d > 0).length, okAfterKill, failureKinds, failureStartsMs, acknowledgedFeedback: acknowledged };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`test:scale failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
