import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from './config.ts';
import { parseOrThrow } from './validation-outcome.ts';

/** sandbox: embedded FHIR server, demo page, no client auth. production: nothing trusted by default. */
export const SERVICE_MODES = ['sandbox', 'production'] as const;
export type ServiceMode = (typeof SERVICE_MODES)[number];

const configSchema = z.object({
  mode: z.enum(SERVICE_MODES),
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  /** Public URL of this service (for viewer and model-card links in cards); default http://localhost:<port>. */
  publicBaseUrl: z.string().url().optional(),
  /** FHIR base URLs the service may call with a hook's token (scheme, host, port, path prefix). */
  allowedFhirServers: z.array(z.string().url()),
  feedbackDbPath: z.string().min(1),
  fhirTimeoutMs: z.number().int().positive(),
  hookDeadlineMs: z.number().int().positive(),
  maxBodyBytes: z.number().int().positive(),
  maxReferrals: z.number().int().positive(),
  maxImagesPerReferral: z.number().int().positive(),
  maxImageBytes: z.number().int().positive(),
  maxImagePixels: z.number().int().positive(),
  /** Also return the FHIR resources as CDS Hooks systemActions (applied by the EHR without a click). */
  systemActions: z.boolean(),
  logLevel: z.enum(['info', 'warn', 'error', 'silent']),
  /** JSON file of trusted CDS clients (src/auth/trusted-issuers.ts); client JWTs are verified when set. */
  trustedIssuersFile: z.string().min(1).optional(),
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
  /** Retry-After on 503 (overload, draining, model loading). */
  retryAfterSeconds: z.number().int().positive(),
  /** On SIGTERM, how long in-flight hooks get to finish. */
  shutdownGraceMs: z.number().int().min(0),
});

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
  logLevel: 'info',
  jwtClockSkewSeconds: 30,
  jwtMaxAgeSeconds: 300,
  corsOrigins: [],
  maxConcurrentHooks: 4,
  maxQueuedHooks: 16,
  maxQueueWaitMs: 2000,
  inferenceConcurrency: 1,
  retryAfterSeconds: 2,
  shutdownGraceMs: 10_000,
};

/**
 * Configuration: defaults < JSON file named by BCC_CDS_CONFIG < environment variables.
 * Production refuses to start without trusted FHIR servers, trusted client issuers and its public URL.
 */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const file: Record<string, unknown> = env['BCC_CDS_CONFIG'] ? (JSON.parse(readFileSync(env['BCC_CDS_CONFIG'], 'utf8')) as Record<string, unknown>) : {};
  const fromEnv: Record<string, unknown> = {};
  const num = (k: string): number | undefined => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : undefined);
  if (env['BCC_CDS_MODE']) {
    fromEnv['mode'] = env['BCC_CDS_MODE'];
  }
  if (num('PORT') !== undefined) {
    fromEnv['port'] = num('PORT');
  }
  if (env['HOST']) {
    fromEnv['host'] = env['HOST'];
  }
  if (env['PUBLIC_BASE_URL']) {
    fromEnv['publicBaseUrl'] = env['PUBLIC_BASE_URL'];
  }
  if (env['FHIR_ALLOWED_SERVERS']) {
    fromEnv['allowedFhirServers'] = env['FHIR_ALLOWED_SERVERS'].split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (env['FEEDBACK_DB']) {
    fromEnv['feedbackDbPath'] = env['FEEDBACK_DB'];
  }
  if (num('HOOK_DEADLINE_MS') !== undefined) {
    fromEnv['hookDeadlineMs'] = num('HOOK_DEADLINE_MS');
  }
  if (num('FHIR_TIMEOUT_MS') !== undefined) {
    fromEnv['fhirTimeoutMs'] = num('FHIR_TIMEOUT_MS');
  }
  if (env['SYSTEM_ACTIONS']) {
    fromEnv['systemActions'] = env['SYSTEM_ACTIONS'] === 'true';
  }
  if (env['LOG_LEVEL']) {
    fromEnv['logLevel'] = env['LOG_LEVEL'];
  }
  if (env['TRUSTED_ISSUERS_FILE']) {
    fromEnv['trustedIssuersFile'] = env['TRUSTED_ISSUERS_FILE'];
  }
  if (env['CORS_ORIGINS']) {
    fromEnv['corsOrigins'] = env['CORS_ORIGINS'].split(',').map((s) => s.trim()).filter(Boolean);
  }
  for (const [key, name] of [
    ['maxConcurrentHooks', 'MAX_CONCURRENT_HOOKS'],
    ['maxQueuedHooks', 'MAX_QUEUED_HOOKS'],
    ['shutdownGraceMs', 'SHUTDOWN_GRACE_MS'],
  ] as const) {
    if (num(name) !== undefined) {
      fromEnv[key] = num(name);
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
