import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_ENV, DEFAULT_CONFIG, SERVICE_ENV_NAMES, loadServiceConfig, modelPaths } from '../../src/config.ts';

/** A value per variable that differs from the default (sandbox mode, so nothing else is required). */
const SAMPLES: Readonly<Record<string, string>> = {
  BCC_CDS_MODE: 'sandbox',
  PORT: '8080',
  HOST: '127.0.0.1',
  PUBLIC_BASE_URL: 'https://bcc-cds.example.org',
  FHIR_ALLOWED_SERVERS: 'https://ehr.example.org/fhir, https://other.example.org/fhir',
  FEEDBACK_DB: '/var/lib/bcc-cds/feedback.sqlite',
  DATABASE_URL: 'postgres://bcc@db.example.org:5432/bcc',
  HOOK_DEADLINE_MS: '6000',
  FHIR_TIMEOUT_MS: '3000',
  SYSTEM_ACTIONS: 'true',
  PRESENTED_FORM_PDF: 'false',
  LOG_LEVEL: 'warn',
  TRUSTED_ISSUERS_FILE: '/etc/bcc-cds/issuers.json',
  ANNOTATOR_ISSUERS_FILE: '/etc/bcc-cds/annotator-issuers.json',
  ANNOTATOR_AUDIENCE: 'bcc-cds-viewer',
  ANNOTATOR_ROLE_CLAIM: 'realm_access.roles',
  ANNOTATOR_ROLE: 'bcc-annotator',
  MODEL_ADMIN_ROLE: 'ml-admin',
  SMART_CLIENT_ID: 'ehr-registered-viewer',
  SMART_SCOPES: 'launch openid fhirUser patient/*.rs',
  VIEWER_SMART_LINK: 'false',
  BCC_MODEL_POLL_SECONDS: '5',
  CORS_ORIGINS: 'https://ehr.example.org',
  MAX_CONCURRENT_HOOKS: '2',
  MAX_QUEUED_HOOKS: '8',
  MAX_QUEUE_WAIT_MS: '1500',
  INFERENCE_CONCURRENCY: '2',
  INFERENCE_THREADS: '2',
  RETRY_AFTER_SECONDS: '5',
  SHUTDOWN_GRACE_MS: '20000',
  RATE_LIMIT_REQUESTS: '600',
  RATE_LIMIT_WINDOW_SECONDS: '30',
  BCC_MODEL_MANIFEST: '/opt/models/bcc-mtl-mnv2-int8.json',
  BCC_RULES: '/opt/models/rules/bcc-criterion.json',
  BCC_IMAGE_GATE: '/opt/models/image-gate.json',
};

describe('configuration from the environment', () => {
  it('every declared variable sets its config key (the list the manifests are checked against is the one read)', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), CONFIG_ENV.map((e) => e.name).sort(), 'a sample per declared variable');
    for (const { name, key } of CONFIG_ENV) {
      const config = loadServiceConfig({ [name]: SAMPLES[name] });
      if (name === 'BCC_CDS_MODE') {
        assert.equal(config.mode, 'sandbox');
        continue;
      }
      assert.notDeepEqual(config[key], DEFAULT_CONFIG[key], `${name} -> ${key}`);
    }
  });

  it('names each variable once, and the model/rules/config-file variables too', () => {
    assert.equal(new Set(SERVICE_ENV_NAMES).size, SERVICE_ENV_NAMES.length);
    for (const n of ['BCC_CDS_CONFIG', 'BCC_MODEL_MANIFEST', 'BCC_RULES']) {
      assert.ok(SERVICE_ENV_NAMES.includes(n), n);
    }
  });

  it('resolves the model, rules and gate files against the working directory, as the tools do', () => {
    const config = loadServiceConfig({ BCC_MODEL_MANIFEST: 'models/other.json' });
    assert.equal(config.modelManifest, modelPaths({ BCC_MODEL_MANIFEST: 'models/other.json' }).manifest);
    assert.ok(config.modelManifest.startsWith('/'), 'absolute');
    assert.equal(loadServiceConfig({}).rulesFile, modelPaths({}).rules);
  });

  it('takes only a postgres URL for DATABASE_URL, and leaves the SQLite default without one', () => {
    assert.throws(() => loadServiceConfig({ DATABASE_URL: 'mysql://db/bcc' }), /DATABASE_URL \(databaseUrl\) must be a postgres/);
    assert.equal(loadServiceConfig({}).databaseUrl, undefined);
    assert.equal(loadServiceConfig({ DATABASE_URL: '' }).databaseUrl, undefined, 'blank is unset');
  });

  it('leaves rate limiting off by default', () => {
    assert.equal(loadServiceConfig({}).rateLimitRequests, 0);
  });
});
