/**
 * The container image and Kubernetes manifests against the service's real configuration: probe
 * paths (HEALTH_PATHS), the port, every environment variable name (SERVICE_ENV_NAMES), the drain
 * time, and the wiring between the objects. Parsed, not grepped, so they cannot drift silently.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseTrustedIssuers } from '../../src/cds/auth/trusted-issuers.ts';
import { HEALTH_PATHS } from '../../src/cds/app.ts';
import { FLUSH_MS } from '../../src/cds/graceful-shutdown.ts';
import { PROJECT_ROOT, SERVICE_ENV_NAMES, loadServiceConfig } from '../../src/config.ts';

const K8S = join(PROJECT_ROOT, 'deploy/k8s');

type Obj = Record<string, unknown>;
function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
/** A nested field, failing the test (not crashing it) when the path is missing. */
function at(o: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = o;
  for (const p of path) {
    assert.ok(isObj(cur) || Array.isArray(cur), `no ${path.join('.')}`);
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
function arr(o: unknown, ...path: (string | number)[]): unknown[] {
  const v = at(o, ...path);
  assert.ok(Array.isArray(v), `${path.join('.')} is not a list`);
  return v;
}

const docs: Obj[] = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], f);
      const js: unknown = d.toJS();
      assert.ok(isObj(js), f);
      return { ...js, __file: f };
    }),
  );
function one(kind: string, name?: string): Obj {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || at(d, 'metadata', 'name') === name));
  assert.equal(found.length, 1, `one ${kind}${name ? ` ${name}` : ''}`);
  return found[0]!;
}

const deployment = one('Deployment');
const container = arr(deployment, 'spec', 'template', 'spec', 'containers')[0];
const configMap = one('ConfigMap');
const configData = at(configMap, 'data') as Record<string, string>;
const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');

function secretValue(name: string, key: string): string {
  const s = one('Secret', name);
  const v = at(s, 'stringData', key);
  assert.equal(typeof v, 'string', `${name}.${key}`);
  return v as string;
}

/** The environment the container gets: the ConfigMap, plus each env entry (secret refs resolved from the example secrets). */
function containerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of arr(container, 'envFrom')) {
    assert.equal(at(from, 'configMapRef', 'name'), at(configMap, 'metadata', 'name'), 'envFrom names the ConfigMap');
    Object.assign(env, configData);
  }
  for (const e of arr(container, 'env')) {
    const name = at(e, 'name') as string;
    const ref = isObj(e) && isObj(e.valueFrom) ? at(e, 'valueFrom', 'secretKeyRef') : undefined;
    env[name] = ref ? secretValue(at(ref, 'name') as string, at(ref, 'key') as string) : (at(e, 'value') as string);
  }
  return env;
}

function mergeMatch(selector: unknown, what: string): void {
  for (const [k, v] of Object.entries(selector as Record<string, string>)) {
    assert.equal(podLabels[k], v, `${what} selects the pods (${k})`);
  }
}

function cpuCores(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

describe('deployment manifests and image against the service configuration', () => {
  it('uses only environment variables the service reads', () => {
    const names = [...Object.keys(configData), ...arr(container, 'env').map((e) => at(e, 'name') as string)];
    const dockerEnv = [...dockerfile.matchAll(/^ENV\s+((?:.*\\\n)*.*)$/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((x) => x[1] ?? ''));
    assert.ok(dockerEnv.length > 0, 'Dockerfile ENV parsed');
    // NODE_ENV is for node and its libraries, not the service.
    for (const n of [...names, ...dockerEnv.filter((n) => n !== 'NODE_ENV')]) {
      assert.ok(SERVICE_ENV_NAMES.includes(n), `${n} is not read by the service (src/config.ts CONFIG_ENV)`);
    }
  });

  it('is a valid production configuration, with the shared PostgreSQL store', () => {
    const config = loadServiceConfig(containerEnv());
    assert.equal(config.mode, 'production');
    assert.match(config.databaseUrl ?? '', /^postgres:\/\//);
    assert.ok(config.rateLimitRequests > 0);
  });

  it('exposes the configured port in the container, the Service and the image', () => {
    const port = loadServiceConfig(containerEnv()).port;
    const ports = arr(container, 'ports');
    const http = ports.find((p) => at(p, 'name') === 'http');
    assert.equal(at(http, 'containerPort'), port);
    const service = one('Service');
    assert.equal(at(arr(service, 'spec', 'ports')[0], 'targetPort'), 'http');
    mergeMatch(at(service, 'spec', 'selector'), 'Service');
    assert.match(dockerfile, new RegExp(`^EXPOSE ${port}$`, 'm'));
    assert.match(dockerfile, new RegExp(`PORT=${port}\\b`));
  });

  it('probes readiness on /readyz and liveness on /healthz, on the http port; the image health check too', () => {
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), HEALTH_PATHS.readiness);
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), HEALTH_PATHS.liveness);
    assert.equal(at(container, 'startupProbe', 'httpGet', 'path'), HEALTH_PATHS.liveness);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      assert.equal(at(container, probe, 'httpGet', 'port'), 'http', probe);
    }
    const healthcheck = /^HEALTHCHECK .*\n?.*$/m.exec(dockerfile.replace(/\\\n\s*/g, ''))?.[0] ?? '';
    assert.ok(healthcheck.includes(HEALTH_PATHS.liveness), 'HEALTHCHECK fetches the liveness path');
  });

  it('gives the pod longer to stop than the drain takes (preStop + SHUTDOWN_GRACE_MS + flush)', () => {
    const graceMs = loadServiceConfig(containerEnv()).shutdownGraceMs;
    const preStop = arr(container, 'lifecycle', 'preStop', 'exec', 'command');
    assert.equal(preStop[0], 'sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    const terminationMs = Number(at(deployment, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds')) * 1000;
    assert.ok(terminationMs > preStopMs + graceMs + FLUSH_MS, `${terminationMs} ms <= ${preStopMs} + ${graceMs} + ${FLUSH_MS}`);
  });

  it('mounts the trusted issuers Secret where TRUSTED_ISSUERS_FILE points', () => {
    const file = loadServiceConfig(containerEnv()).trustedIssuersFile ?? '';
    const mount = arr(container, 'volumeMounts').find((m) => file.startsWith(`${String(at(m, 'mountPath'))}/`));
    assert.ok(mount, `a volume mounted above ${file}`);
    const volume = arr(deployment, 'spec', 'template', 'spec', 'volumes').find((v) => at(v, 'name') === at(mount, 'name'));
    const secretName = at(volume, 'secret', 'secretName') as string;
    const key = file.slice(String(at(mount, 'mountPath')).length + 1);
    // The service's own parser: the example has the file format the service reads.
    const issuers = parseTrustedIssuers(JSON.parse(secretValue(secretName, key)), String(at(mount, 'mountPath')));
    assert.ok(issuers.length > 0);
  });

  it('sizes CPU for the inference threads, and memory above the measured peak RSS (380 MB)', () => {
    const threads = loadServiceConfig(containerEnv()).inferenceThreads;
    assert.ok(cpuCores(at(container, 'resources', 'requests', 'cpu') as string) >= threads);
    assert.ok(cpuCores(at(container, 'resources', 'limits', 'cpu') as string) >= threads);
    const mi = (q: string): number => Number(q.replace(/Mi$/, ''));
    assert.ok(mi(at(container, 'resources', 'limits', 'memory') as string) > 380 * 1.5 * (1000 / 1024) ** 2);
  });

  it('scales the Deployment with an HPA and keeps it available with a PDB', () => {
    const hpa = one('HorizontalPodAutoscaler');
    assert.equal(at(hpa, 'spec', 'scaleTargetRef', 'kind'), 'Deployment');
    assert.equal(at(hpa, 'spec', 'scaleTargetRef', 'name'), at(deployment, 'metadata', 'name'));
    assert.ok(Number(at(hpa, 'spec', 'minReplicas')) >= 2);
    const pdb = one('PodDisruptionBudget');
    mergeMatch(at(pdb, 'spec', 'selector', 'matchLabels'), 'PodDisruptionBudget');
    mergeMatch(at(deployment, 'spec', 'selector', 'matchLabels'), 'Deployment selector');
    const kustomization = one('Kustomization');
    for (const f of arr(kustomization, 'resources')) {
      assert.ok(docs.some((d) => d.__file === f), `${String(f)} exists`);
    }
  });

  it('runs the image as a non-root user, from production dependencies only', () => {
    assert.match(dockerfile, /^FROM node:20-bookworm-slim AS deps$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    const user = [...dockerfile.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user ?? '(none)'}`);
    assert.equal(at(deployment, 'spec', 'template', 'spec', 'securityContext', 'runAsNonRoot'), true);
  });
});
