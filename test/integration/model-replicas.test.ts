/**
 * Two replicas on one PostgreSQL (test/support/postgres.ts) agree on the live model version:
 * registered and promoted through replica A, replica B switches at its next poll of the store
 * (BCC_MODEL_POLL_SECONDS, short here), and a rollback through B reaches A the same way. With the
 * store gone, a poll fails, is logged, and the replica keeps its model.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, DEFAULT_IMAGE_GATE } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { installedJson, learnedCandidate } from '../registry/candidate.ts';
import { answeredBy } from '../registry/hook-versions.ts';
import { jwksOf, makeClient, signClientJwt } from '../security/jwt-clients.ts';
import type { TestClient } from '../security/jwt-clients.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, orderSignHook } from '../security/service.ts';
import type { PostgresCluster } from '../support/postgres.ts';
import { startPostgres } from '../support/postgres.ts';

const IDP = 'https://idp.hospital.example.org/realms/it';
const INSTALLED = String(installedJson.version);
const CANDIDATE = '1.6.0-replicas';

let cluster: PostgresCluster;
let idp: TestClient;
let a: Service;
let b: Service;
const logsB: string[] = [];

async function replica(databaseUrl: string, logs: string[]): Promise<Service> {
  return createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: PUBLIC_BASE_URL, databaseUrl, logLevel: 'silent', modelPollSeconds: 0.2 },
    {
      log: createLogger((line) => logs.push(line), 'info'),
      annotatorIssuers: [{ iss: IDP, keys: { kind: 'inline', jwks: jwksOf(idp) }, jkuAllowList: [] }],
      gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
    },
  );
}

before(async () => {
  cluster = await startPostgres();
  idp = await makeClient('ES256');
  const url = await cluster.createDatabase('model_replicas');
  // Started together: the installed version is registered once, under the registry lock.
  [a, b] = await Promise.all([replica(url, []), replica(url, logsB)]);
});

after(async () => {
  await Promise.allSettled([a.close(), b.close()]);
  await cluster.stop();
});

const bearer = async (): Promise<string> => `Bearer ${await signClientJwt(idp, { iss: IDP, aud: PUBLIC_BASE_URL, sub: 'it-jane', jti: null, extra: { roles: ['bcc-model-admin'] } })}`;

/** Polls a replica's GET /models until it serves `version`; a bounded wait, not a fixed sleep. */
async function untilServing(s: Service, version: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await request(s.app).get('/models');
    if (res.body.live?.version === version) {
      return;
    }
    await sleep(100);
  }
  assert.fail(`replica still serves ${String((await request(s.app).get('/models')).body.live?.version)}, not ${version}`);
}

async function hookVersion(s: Service): Promise<string> {
  const res = await request(s.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images: [await lesionJpeg(380, 300, 61)] }));
  assert.equal(res.status, 200, res.text);
  const answered = answeredBy(res.body);
  assert.equal(answered.report, answered.card);
  return answered.card;
}

describe('replicas on one PostgreSQL agree on the live model version', () => {
  it('both start on the installed version, registered once', async () => {
    assert.equal(a.model.manifest.version, INSTALLED);
    assert.equal(b.model.manifest.version, INSTALLED);
    const audit = (await request(b.app).get('/models/audit')).body.entries as { action: string }[];
    assert.deepEqual(audit.map((e) => e.action), ['install']);
  });

  it('promoted through A, B switches after its poll; rolled back through B, A follows', async () => {
    const reg = await request(a.app).post('/models').set('Authorization', await bearer()).send(learnedCandidate(CANDIDATE));
    assert.equal(reg.status, 201, reg.text);
    const listed = await request(b.app).get('/models');
    assert.ok(listed.body.versions.some((v: { version: string; live: boolean }) => v.version === CANDIDATE && !v.live), 'B lists what A registered');
    const promoted = await request(a.app).post(`/models/${CANDIDATE}/promote`).set('Authorization', await bearer()).send({});
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal(await hookVersion(a), CANDIDATE, 'A switches at once');
    await untilServing(b, CANDIDATE);
    assert.equal(await hookVersion(b), CANDIDATE);

    const back = await request(b.app).post('/models/rollback').set('Authorization', await bearer()).send({});
    assert.deepEqual(back.body, { live: INSTALLED, from: CANDIDATE });
    await untilServing(a, INSTALLED);
    assert.equal(await hookVersion(a), INSTALLED);
  });

  it('a failed poll is logged and the replica keeps its model', async () => {
    await cluster.stop();
    for (let i = 0; i < 100 && !logsB.some((l) => l.includes('model version poll failed')); i++) {
      await sleep(100);
    }
    assert.ok(logsB.some((l) => l.includes('model version poll failed')), 'the failed poll is logged');
    assert.equal(b.model.manifest.version, INSTALLED);
  });
});
