/**
 * Production refuses to start without what makes it safe (allowed FHIR servers, trusted issuers,
 * its public URL), and the trusted issuers file is checked before a port opens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTrustedIssuers } from '../../src/cds/auth/trusted-issuers.ts';
import { OperationOutcomeError, describeOutcome } from '../../src/common/outcomes.ts';
import { loadServiceConfig } from '../../src/config.ts';
import { jwksOf, makeClient } from './jwt-clients.ts';
import type { TestClient } from './jwt-clients.ts';
import { startTestService } from './service.ts';

let dir: string;
let client: TestClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bcc-config-'));
  client = await makeClient('ES384', 'k1');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const production = {
  BCC_CDS_MODE: 'production',
  FHIR_ALLOWED_SERVERS: 'https://ehr.example.org/fhir',
  PUBLIC_BASE_URL: 'https://cds.example.org',
  TRUSTED_ISSUERS_FILE: '/etc/bcc-cds/issuers.json',
};

describe('production configuration', () => {
  it('refuses to start without trusted issuers, allowed FHIR servers or a public URL', () => {
    const { TRUSTED_ISSUERS_FILE: _i, ...noIssuers } = production;
    assert.throws(() => loadServiceConfig(noIssuers), /TRUSTED_ISSUERS_FILE/);
    const { FHIR_ALLOWED_SERVERS: _f, ...noFhir } = production;
    assert.throws(() => loadServiceConfig(noFhir), /FHIR_ALLOWED_SERVERS/);
    const { PUBLIC_BASE_URL: _p, ...noUrl } = production;
    assert.throws(() => loadServiceConfig(noUrl), /PUBLIC_BASE_URL/);
  });

  it('reads the security and load settings from the environment', () => {
    const c = loadServiceConfig({ ...production, CORS_ORIGINS: 'https://ehr.example.org, https://sandbox.cds-hooks.org', MAX_CONCURRENT_HOOKS: '2', MAX_QUEUED_HOOKS: '0', SHUTDOWN_GRACE_MS: '500' });
    assert.equal(c.trustedIssuersFile, '/etc/bcc-cds/issuers.json');
    assert.deepEqual(c.corsOrigins, ['https://ehr.example.org', 'https://sandbox.cds-hooks.org']);
    assert.equal(c.maxConcurrentHooks, 2);
    assert.equal(c.maxQueuedHooks, 0);
    assert.equal(c.shutdownGraceMs, 500);
    assert.equal(c.jwtClockSkewSeconds, 30);
    assert.equal(c.jwtMaxAgeSeconds, 300);
  });

  it('sandbox mode needs none of it', () => {
    const c = loadServiceConfig({});
    assert.equal(c.mode, 'sandbox');
    assert.equal(c.trustedIssuersFile, undefined);
  });
});

describe('trusted issuers file', () => {
  it('accepts each key source and resolves jwksFile next to the file', () => {
    const issuers = parseTrustedIssuers(
      {
        issuers: [
          { iss: 'https://a.example.org', jwksUrl: 'https://a.example.org/.well-known/jwks.json' },
          { iss: 'https://b.example.org', jwks: jwksOf(client), tenant: 't1', clientIds: ['c1'] },
          { iss: 'https://c.example.org', jwksFile: 'keys/c.json' },
          { iss: 'https://sandbox.cds-hooks.org', jkuAllowList: ['https://sandbox.cds-hooks.org/.well-known/jwks.json'] },
        ],
      },
      '/etc/bcc-cds',
    );
    assert.deepEqual(issuers[0]?.keys, { kind: 'url', url: 'https://a.example.org/.well-known/jwks.json' });
    assert.equal(issuers[1]?.keys?.kind, 'inline');
    assert.equal(issuers[1].tenant, 't1');
    assert.deepEqual(issuers[2]?.keys, { kind: 'file', path: '/etc/bcc-cds/keys/c.json' });
    assert.equal(issuers[3]?.keys, undefined);
  });

  it('refuses issuers it could not verify, or could verify in two ways', () => {
    const bad: readonly [unknown, RegExp][] = [
      [{ issuers: [] }, /issuers/],
      [{ issuers: [{ iss: 'x' }] }, /needs jwksUrl, jwks, jwksFile or a jkuAllowList/],
      [{ issuers: [{ iss: 'x', jwksUrl: 'https://x/jwks', jwksFile: 'k.json' }] }, /one of jwksUrl, jwks, jwksFile/],
      [{ issuers: [{ iss: 'x', jwks: { keys: [{ ...client.publicJwk, d: 'secret' }] } }] }, /private key/],
      [{ issuers: [{ iss: 'x', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }] }, /private key/],
      [{ issuers: [{ iss: 'x', jwksUrl: 'file:///etc/passwd' }] }, /http\(s\) URL/],
      [{ issuers: [{ iss: 'x', jwksUrl: 'https://user:pw@x/jwks' }] }, /without credentials/],
      [{ issuers: [{ iss: 'x', jwksUrl: 'https://x/jwks', algorithms: ['HS256'] }] }, /algorithms/],
      [{ issuers: [{ iss: 'x', jwksUrl: 'https://x/jwks' }, { iss: 'x', jwksUrl: 'https://x/jwks' }] }, /listed twice/],
    ];
    for (const [json, message] of bad) {
      assert.throws(
        () => parseTrustedIssuers(json, '/'),
        (err: unknown) => err instanceof OperationOutcomeError && message.test(describeOutcome(err.outcome)),
        JSON.stringify(json),
      );
    }
  });

  it('createService loads the file and turns client authentication on', async () => {
    const path = join(dir, 'issuers.json');
    await writeFile(path, JSON.stringify({ issuers: [{ iss: 'https://ehr.example.org', jwks: jwksOf(client) }] }));
    const ts = await startTestService({ trustedIssuersFile: path });
    try {
      assert.equal(ts.service.clientAuth, true);
    } finally {
      await ts.stop();
    }
    await assert.rejects(startTestService({ trustedIssuersFile: join(dir, 'missing.json') }), /cannot be read/);
  });

  it('createService in production without issuers (not reachable through npm start) says so loudly', async () => {
    const ts = await startTestService();
    try {
      assert.equal(ts.service.clientAuth, false);
      assert.ok(ts.logs.some((l) => l.includes('WITHOUT client authentication')));
    } finally {
      await ts.stop();
    }
  });
});
