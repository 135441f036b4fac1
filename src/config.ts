import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseOrThrow } from './common/validation-outcome.ts';

/**
 * The one configuration module: every setting the service reads, from defaults < the JSON file named
 * by BCC_CDS_CONFIG < environment variables, and the installed model, rules and image gate files.
 */

/** Project root, so commands work from any working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_MODEL_MANIFEST = resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2.json');
export const DEFAULT_RULES = resolve(PROJECT_ROOT, 'models/rules/bcc-criterion.json');
export const DEFAULT_IMAGE_GATE = resolve(PROJECT_ROOT, 'models/image-gate.json');

export const CONFIG_FILE_ENV = 'BCC_CDS_CONFIG';
export const MODEL_MANIFEST_ENV = 'BCC_MODEL_MANIFEST';
export const RULES_ENV = 'BCC_RULES';
export const IMAGE_GATE_ENV = 'BCC_IMAGE_GATE';

/** sandbox: embedded FHIR server, demo page, no client auth. production: nothing trusted by default. */
export const SERVICE_MODES = ['sandbox', 'production'] as const;
export type ServiceMode = (typeof SERVICE_MODES)[number];

const configSchema = z.object({
  mode: z.enum(SERVICE_MODES),
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  /** Public URL of this service (for viewer and model-card links in cards); default http://localhost:<port>. */
  publicBaseUrl: z.url().optional(),
  /** FHIR base URLs the service may call with a hook's token (scheme, host, port, path prefix). */
  allowedFhirServers: z.array(z.url()),
  feedbackDbPath: z.string().min(1),
  /** PostgreSQL URL of the store shared by replicas (feedback, jti replay, viewer results, rate counters); absent: SQLite at feedbackDbPath. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL (databaseUrl) must be a postgres:// or postgresql:// URL').optional(),
  fhirTimeoutMs: z.number().int().positive(),
  hookDeadlineMs: z.number().int().positive(),
  maxBodyBytes: z.number().int().positive(),
  maxReferrals: z.number().int().positive(),
  maxImagesPerReferral: z.number().int().positive(),
  maxImageBytes: z.number().int().positive(),
  maxImagePixels: z.number().int().positive(),
  /** Also return the FHIR resources as CDS Hooks systemActions (applied by the EHR without a click). */
  systemActions: z.boolean(),
  /** DiagnosticReport.presentedForm carries the report as a PDF (src/report/presented-form-pdf.ts; ~80 ms CPU per 3-image hook). */
  presentedFormPdf: z.boolean(),
  logLevel: z.enum(['info', 'warn', 'error', 'silent']),
  /** JSON file of trusted CDS clients (src/cds/auth/trusted-issuers.ts); client JWTs are verified when set. */
  trustedIssuersFile: z.string().min(1).optional(),
  /**
   * JSON file of the identity providers whose user tokens may annotate (same format as the trusted
   * issuers file; src/cds/auth/staff-jwt.ts). Unset in production: the annotation API answers 401.
   */
  annotatorIssuersFile: z.string().min(1).optional(),
  /** The `aud` an annotator token must carry; default publicBaseUrl. */
  annotatorAudience: z.string().min(1).optional(),
  /** The claim holding the user's roles (a dotted path such as `realm_access.roles`; an array, or a space-separated string). */
  annotatorRoleClaim: z.string().min(1),
  /** The role an annotator token must carry in annotatorRoleClaim. */
  annotatorRole: z.string().min(1),
  /** The role (in annotatorRoleClaim of a token from annotatorIssuersFile) that may register, promote and roll back model versions. */
  modelAdminRole: z.string().min(1),
  /**
   * The result viewer as a SMART app (src/cds/viewer-routes.ts): the client id the EHR's
   * authorization server registered for it (a public client: PKCE, no secret).
   */
  smartClientId: z.string().min(1),
  /** The scopes the viewer asks for, space-separated (SMART App Launch 2: `patient/<Type>.rs`). */
  smartScopes: z.string().min(1),
  /** Whether cards carry the `smart` link that launches the viewer (`<publicBaseUrl>/viewer/launch`). */
  viewerSmartLink: z.boolean(),
  /** How often each replica reads the live model version from the store and switches to it. */
  modelPollSeconds: z.number().positive().max(3600),
  /** Leeway for JWT exp/nbf/iat. */
  jwtClockSkewSeconds: z.number().int().min(0).max(300),
  /** Oldest client JWT `iat` accepted. */
  jwtMaxAgeSeconds: z.number().int().positive().max(3600),
  /** Browser origins allowed by CORS on /cds-services (`*` for any). */
  corsOrigins: z.array(z.string().min(1)),
  /** Hooks running at once; more wait in a queue of maxQueuedHooks for up to maxQueueWaitMs, then 503. */
  maxConcurrentHooks: z.number().int().positive(),
  maxQueuedHooks: z.number().int().min(0),
  maxQueueWaitMs: z.number().int().positive(),
  /** Model runs at once (each already uses the session's threads). */
  inferenceConcurrency: z.number().int().positive(),
  /** Retry-After on 503 (overload, draining, jti replay store or rate-limit counters unreachable). */
  retryAfterSeconds: z.number().int().positive(),
  /** On SIGTERM, how long in-flight hooks get to finish. */
  shutdownGraceMs: z.number().int().min(0),
  /** ONNX Runtime intra-op threads per replica (keep at or below the CPU limit; src/model/session.ts). */
  inferenceThreads: z.number().int().positive(),
  /** Requests (hooks + feedback) per client `iss`, else per peer address, per window; 0 = no limit. */
  rateLimitRequests: z.number().int().min(0),
  rateLimitWindowSeconds: z.number().int().positive(),
  /** The model manifest (its .onnx beside it); the hospital ML team's retrained model goes here. */
  modelManifest: z.string().min(1),
  /** The criterion and triage table (models/rules/bcc-criterion.json). */
  rulesFile: z.string().min(1),
  /** The image gate (models/image-gate.json). */
  imageGateFile: z.string().min(1),
});

/** What the viewer reads: the report, its Observations, heatmap and source Media, and the model Device; `openid fhirUser` for the annotator's id_token. */
export const DEFAULT_SMART_SCOPES = 'launch openid fhirUser patient/DiagnosticReport.rs patient/Observation.rs patient/Media.rs patient/Device.rs';

export type ServiceConfig = Readonly<z.infer<typeof configSchema>>;

export const DEFAULT_CONFIG: ServiceConfig = {
  mode: 'sandbox',
  port: 3000,
  host: '0.0.0.0',
  allowedFhirServers: [],
  feedbackDbPath: resolve(PROJECT_ROOT, 'var/feedback.sqlite'),
  fhirTimeoutMs: 5000,
  hookDeadlineMs: 8000,
  maxBodyBytes: 20 * 1024 * 1024,
  maxReferrals: 10,
  maxImagesPerReferral: 12,
  maxImageBytes: 25 * 1024 * 1024,
  maxImagePixels: 40_000_000,
  systemActions: false,
  presentedFormPdf: true,
  logLevel: 'info',
  jwtClockSkewSeconds: 30,
  jwtMaxAgeSeconds: 300,
  annotatorRoleClaim: 'roles',
  annotatorRole: 'annotator',
  modelAdminRole: 'bcc-model-admin',
  smartClientId: 'bcc-cds-viewer',
  smartScopes: DEFAULT_SMART_SCOPES,
  viewerSmartLink: true,
  modelPollSeconds: 2,
  corsOrigins: [],
  maxConcurrentHooks: 4,
  maxQueuedHooks: 16,
  maxQueueWaitMs: 2000,
  inferenceConcurrency: 1,
  retryAfterSeconds: 2,
  shutdownGraceMs: 10_000,
  inferenceThreads: 1,
  rateLimitRequests: 0,
  rateLimitWindowSeconds: 60,
  modelManifest: DEFAULT_MODEL_MANIFEST,
  rulesFile: DEFAULT_RULES,
  imageGateFile: DEFAULT_IMAGE_GATE,
};

type ConfigKey = keyof ServiceConfig;
/** `path`: a file name, resolved against the working directory. */
type EnvKind = 'string' | 'path' | 'number' | 'list' | 'boolean';

/**
 * Every environment variable that sets a config key, declared once: loadServiceConfig reads these,
 * and the deployment manifests are checked against them (test/deploy).
 */
export const CONFIG_ENV: readonly { readonly name: string; readonly key: ConfigKey; readonly kind: EnvKind }[] = [
  { name: 'BCC_CDS_MODE', key: 'mode', kind: 'string' },
  { name: 'PORT', key: 'port', kind: 'number' },
  { name: 'HOST', key: 'host', kind: 'string' },
  { name: 'PUBLIC_BASE_URL', key: 'publicBaseUrl', kind: 'string' },
  { name: 'FHIR_ALLOWED_SERVERS', key: 'allowedFhirServers', kind: 'list' },
  { name: 'FEEDBACK_DB', key: 'feedbackDbPath', kind: 'string' },
  { name: 'DATABASE_URL', key: 'databaseUrl', kind: 'string' },
  { name: 'HOOK_DEADLINE_MS', key: 'hookDeadlineMs', kind: 'number' },
  { name: 'FHIR_TIMEOUT_MS', key: 'fhirTimeoutMs', kind: 'number' },
  { name: 'SYSTEM_ACTIONS', key: 'systemActions', kind: 'boolean' },
  { name: 'PRESENTED_FORM_PDF', key: 'presentedFormPdf', kind: 'boolean' },
  { name: 'LOG_LEVEL', key: 'logLevel', kind: 'string' },
  { name: 'TRUSTED_ISSUERS_FILE', key: 'trustedIssuersFile', kind: 'string' },
  { name: 'ANNOTATOR_ISSUERS_FILE', key: 'annotatorIssuersFile', kind: 'string' },
  { name: 'ANNOTATOR_AUDIENCE', key: 'annotatorAudience', kind: 'string' },
  { name: 'ANNOTATOR_ROLE_CLAIM', key: 'annotatorRoleClaim', kind: 'string' },
  { name: 'ANNOTATOR_ROLE', key: 'annotatorRole', kind: 'string' },
  { name: 'MODEL_ADMIN_ROLE', key: 'modelAdminRole', kind: 'string' },
  { name: 'SMART_CLIENT_ID', key: 'smartClientId', kind: 'string' },
  { name: 'SMART_SCOPES', key: 'smartScopes', kind: 'string' },
  { name: 'VIEWER_SMART_LINK', key: 'viewerSmartLink', kind: 'boolean' },
  { name: 'BCC_MODEL_POLL_SECONDS', key: 'modelPollSeconds', kind: 'number' },
  { name: 'CORS_ORIGINS', key: 'corsOrigins', kind: 'list' },
  { name: 'MAX_CONCURRENT_HOOKS', key: 'maxConcurrentHooks', kind: 'number' },
  { name: 'MAX_QUEUED_HOOKS', key: 'maxQueuedHooks', kind: 'number' },
  { name: 'MAX_QUEUE_WAIT_MS', key: 'maxQueueWaitMs', kind: 'number' },
  { name: 'INFERENCE_CONCURRENCY', key: 'inferenceConcurrency', kind: 'number' },
  { name: 'INFERENCE_THREADS', key: 'inferenceThreads', kind: 'number' },
  { name: 'RETRY_AFTER_SECONDS', key: 'retryAfterSeconds', kind: 'number' },
  { name: 'SHUTDOWN_GRACE_MS', key: 'shutdownGraceMs', kind: 'number' },
  { name: 'RATE_LIMIT_REQUESTS', key: 'rateLimitRequests', kind: 'number' },
  { name: 'RATE_LIMIT_WINDOW_SECONDS', key: 'rateLimitWindowSeconds', kind: 'number' },
  { name: MODEL_MANIFEST_ENV, key: 'modelManifest', kind: 'path' },
  { name: RULES_ENV, key: 'rulesFile', kind: 'path' },
  { name: IMAGE_GATE_ENV, key: 'imageGateFile', kind: 'path' },
];

/** Every environment variable the service reads: the config keys' and the config file's. */
export const SERVICE_ENV_NAMES: readonly string[] = [...CONFIG_ENV.map((e) => e.name), CONFIG_FILE_ENV];

function fromEnvValue(kind: EnvKind, raw: string): unknown {
  switch (kind) {
    case 'number':
      return Number(raw);
    case 'boolean':
      return raw === 'true';
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'string':
      return raw;
    case 'path':
      return resolve(raw);
  }
}

/**
 * Configuration: defaults < JSON file named by BCC_CDS_CONFIG < environment variables.
 * Production refuses to start without trusted FHIR servers, trusted client issuers and its public URL.
 */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const configFile = env[CONFIG_FILE_ENV];
  const file: Record<string, unknown> = configFile ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const { name, key, kind } of CONFIG_ENV) {
    // Unset and empty are the same: a blank variable in a manifest never overrides the default.
    const raw = env[name];
    if (raw !== undefined && raw !== '') {
      fromEnv[key] = fromEnvValue(kind, raw);
    }
  }
  const config = parseOrThrow(configSchema, { ...DEFAULT_CONFIG, ...file, ...fromEnv }, 'config');
  if (config.mode === 'production' && config.allowedFhirServers.length === 0) {
    throw new Error('production mode needs FHIR_ALLOWED_SERVERS (or allowedFhirServers in BCC_CDS_CONFIG): the service never calls an unlisted fhirServer');
  }
  if (config.mode === 'production' && !config.trustedIssuersFile) {
    throw new Error('production mode needs TRUSTED_ISSUERS_FILE (or trustedIssuersFile in BCC_CDS_CONFIG): every CDS client call must carry a JWT from a trusted issuer');
  }
  if (config.mode === 'production' && !config.publicBaseUrl) {
    throw new Error('production mode needs PUBLIC_BASE_URL (or publicBaseUrl in BCC_CDS_CONFIG): client JWTs are checked against the exact URL called');
  }
  return config;
}

/**
 * The installed model, rules and image gate, for the tools that need no service configuration
 * (analyze, evaluate): the same variables and defaults as loadServiceConfig.
 */
export function modelPaths(env: NodeJS.ProcessEnv = process.env): { manifest: string; rules: string; gate: string } {
  const path = (name: string, fallback: string): string => {
    const raw = env[name];
    return raw ? resolve(raw) : fallback;
  };
  return { manifest: path(MODEL_MANIFEST_ENV, DEFAULT_MODEL_MANIFEST), rules: path(RULES_ENV, DEFAULT_RULES), gate: path(IMAGE_GATE_ENV, DEFAULT_IMAGE_GATE) };
}
