import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Express, RequestHandler } from 'express';
import { annotationOff, bearerAnnotatorAuth } from '../cds/auth/annotator-auth.ts';
import type { AnnotatorAuth } from '../cds/auth/annotator-auth.ts';
import { createStaffJwtVerifier } from '../cds/auth/staff-jwt.ts';
import type { StaffJwtVerifier } from '../cds/auth/staff-jwt.ts';
import { bearerModelAdminAuth, modelAdminOff } from '../cds/auth/model-admin-auth.ts';
import type { ModelAdminAuth } from '../cds/auth/model-admin-auth.ts';
import { requireClientJwt } from '../cds/auth/client-auth.ts';
import { createKeyStore } from '../cds/auth/key-store.ts';
import { createReplayCache } from '../cds/auth/replay-cache.ts';
import { loadTrustedIssuers } from '../cds/auth/trusted-issuers.ts';
import type { TrustedIssuer } from '../cds/auth/trusted-issuers.ts';
import { createClientJwtVerifier } from '../cds/auth/verify-client-jwt.ts';
import { PROJECT_ROOT } from '../config.ts';
import type { ServiceConfig } from '../config.ts';
import type { FeedbackStore } from '../feedback/feedback-store.ts';
import type { Logger } from '../common/logger.ts';
import { createLogger } from '../common/logger.ts';
import { openModel } from '../model/session.ts';
import type { BccModel } from '../model/session.ts';
import { loadReferralValueSet } from '../referral/referral-value-set.ts';
import type { TriageReport } from '../report/triage-report.ts';
import { loadTerminology } from '../report/terminology.ts';
import { checkRulesAgainstThresholds, loadRuleSet } from '../rules/rule-set.ts';
import { loadGateConfig } from '../gate/gate-config.ts';
import type { GateConfig } from '../gate/gate-config.ts';
import { openSharedStore } from '../storage/open-store.ts';
import type { SharedStore } from '../storage/shared-store.ts';
import type { ReportStore } from '../viewer/report-store.ts';
import { createReportStore } from '../viewer/report-store.ts';
import { mountAnnotationRoutes } from '../cds/annotation-routes.ts';
import { mountModelRoutes } from '../cds/model-routes.ts';
import { VIEWER_LAUNCH_PATH, mountViewerRoutes } from '../cds/viewer-routes.ts';
import { createChangeControl } from '../registry/change-control.ts';
import { openLiveModel } from '../registry/live-model.ts';
import type { LiveModel } from '../registry/live-model.ts';
import { createApp } from '../cds/app.ts';
import { corsForOrigins } from '../cds/cors.ts';
import { limitInference } from '../cds/limited-model.ts';
import { createMetrics, registerQueueGauges } from '../cds/metrics.ts';
import type { ServiceMetrics } from '../cds/metrics.ts';
import { createWorkQueue } from '../cds/overload.ts';
import { rateLimit } from '../cds/rate-limit.ts';
import type { WorkQueueStats } from '../cds/overload.ts';
import { loadServiceDefinitions } from '../cds/service-definitions.ts';
import { createTriageHook } from '../cds/triage-hook.ts';

export interface Service {
  readonly app: Express;
  /** The live model version now (change control: src/registry); a hook takes it once when it starts. */
  readonly model: BccModel;
  /** The live model: switches on promote and rollback, and polls the store for other replicas' changes. */
  readonly models: LiveModel;
  readonly feedback: FeedbackStore;
  /** Everything another replica may need (src/storage): SQLite, or PostgreSQL with DATABASE_URL. */
  readonly store: SharedStore;
  readonly metrics: ServiceMetrics;
  /** FHIR servers the hook may call with a token (config plus, in sandbox, the embedded one). */
  readonly allowedFhirServers: readonly string[];
  /** Whether discovery, hooks and feedback require a client JWT (trusted issuers configured). */
  readonly clientAuth: boolean;
  /** The hook queue: running and waiting hooks. */
  hookQueue(): WorkQueueStats;
  /** Graceful shutdown: new hooks get 503; true once the admitted ones finished within `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly log?: Logger;
  /** Routes mounted before the 404/error handlers (sandbox FHIR server, pages). */
  readonly mount?: (app: Express) => void;
  /**
   * Called with each finished report after the service has kept it (in `reports`); awaited before
   * the card goes out. Not needed to keep reports: createService does that itself.
   */
  readonly onReport?: (report: TriageReport) => void | Promise<void>;
  /**
   * Where every finished report is kept, for the viewer, the queue and the annotation API; default:
   * the shared store's report records (createReportStore, last 200). The sandbox passes the one its
   * pages read (tests wrap it). The annotation API looks reports up in the shared store itself.
   */
  readonly reports?: ReportStore;
  /** A store the caller opened (and closes); otherwise createService opens the configured one and close() closes it. */
  readonly store?: SharedStore;
  /** Result viewer: cards link to `<viewerBaseUrl>/<report id>` (the sandbox serves one at `/viewer`). */
  readonly viewerBaseUrl?: string;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  /** The image gate given directly (the sandbox, tests); otherwise config.imageGateFile. */
  readonly gate?: GateConfig;
  /** FHIR servers trusted besides config.allowedFhirServers (the sandbox's embedded one). */
  readonly extraAllowedFhirServers?: readonly string[];
  /** Trusted CDS clients given directly (tests, embedding); otherwise config.trustedIssuersFile. */
  readonly trustedIssuers?: readonly TrustedIssuer[];
  /** Identity providers of annotators given directly (tests); otherwise config.annotatorIssuersFile. */
  readonly annotatorIssuers?: readonly TrustedIssuer[];
  /** Who may annotate, given whole (the sandbox's demo annotators); otherwise annotator JWTs as configured. */
  readonly annotatorAuth?: AnnotatorAuth;
  /** Who may register, promote and roll back model versions, given whole (the sandbox's demo admin); otherwise tokens with MODEL_ADMIN_ROLE. */
  readonly modelAdminAuth?: ModelAdminAuth;
}

/**
 * Wires the service from configuration: the same assembly for `npm start` and the integration
 * tests, so the tests exercise what runs. Every startup check (manifest vs graph, rules vs
 * thresholds, data files) fails here, before a port is opened.
 */
export async function createService(config: ServiceConfig, opts: ServiceOptions = {}): Promise<Service> {
  const log = opts.log ?? createLogger(undefined, config.logLevel);
  const [model, rules, gate, valueSet, terminology, services, openapiText] = await Promise.all([
    openModel(config.modelManifest, { threads: config.inferenceThreads }),
    loadRuleSet(config.rulesFile),
    opts.gate ?? loadGateConfig(config.imageGateFile),
    loadReferralValueSet(),
    loadTerminology(),
    loadServiceDefinitions(),
    readFile(resolve(PROJECT_ROOT, 'cds-hooks/openapi.json'), 'utf8'),
  ]);
  checkRulesAgainstThresholds(rules, model.manifest.thresholds);
  const metrics = createMetrics();
  const installed = model.manifest;
  const info = (b: BccModel): { name: string; version: string; sha256: string } => ({ name: b.manifest.name, version: b.manifest.version, sha256: b.manifest.sha256 });
  let store: SharedStore;
  try {
    store = opts.store ?? (await openSharedStore(config, { onIdleError: (err) => { log.warn('store connection lost; reconnecting on next use', { error: err.message }); } }));
  } catch (err) {
    await model.close();
    throw err;
  }
  const ownsStore = opts.store === undefined;
  // Every version is a view of the one network, so all share its inference queue.
  const limited = limitInference(model, config.inferenceConcurrency, { onRun: (seconds) => { metrics.inferenceBusySeconds.inc(seconds); } });
  const network = limited.model;
  let live: LiveModel;
  try {
    live = await openLiveModel({
      network,
      store,
      log,
      ...(opts.clock ? { clock: opts.clock } : {}),
      onSwitch: (now, before) => {
        metrics.modelInfo.remove(info(before));
        metrics.modelInfo.set(info(now), 1);
      },
    });
  } catch (err) {
    await Promise.all([model.close(), ownsStore ? store.close() : undefined]);
    throw err;
  }
  metrics.modelInfo.set(info(live.current()), 1);
  live.startPolling(config.modelPollSeconds);
  const changeControl = createChangeControl({
    store,
    live,
    network,
    log,
    checkManifest: (m) => { checkRulesAgainstThresholds(rules, m.thresholds); },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const feedback: FeedbackStore = store;
  // Every finished report is kept (both modes), so annotations can name it and a viewer can show it.
  const reports = opts.reports ?? createReportStore(store);
  const onReport = opts.onReport;
  const keepReport = async (report: TriageReport): Promise<void> => {
    await reports.add(report);
    await onReport?.(report);
  };
  const publicBaseUrl = publicBaseUrlOf(config);
  const allowedFhirServers = [...config.allowedFhirServers, ...(opts.extraAllowedFhirServers ?? [])];

  const issuers = opts.trustedIssuers ?? (config.trustedIssuersFile ? await loadTrustedIssuers(config.trustedIssuersFile) : undefined);
  let authenticate: RequestHandler | undefined;
  if (issuers && issuers.length > 0) {
    const verifier = createClientJwtVerifier(
      { issuers, clockSkewSeconds: config.jwtClockSkewSeconds, maxAgeSeconds: config.jwtMaxAgeSeconds },
      { keys: createKeyStore(), replay: createReplayCache(store) },
    );
    authenticate = requireClientJwt({ verifier, publicBaseUrl, log });
    log.info('client JWT authentication on', { issuers: issuers.map((i) => i.iss), audienceBase: publicBaseUrl });
  } else if (config.mode !== 'sandbox') {
    // loadServiceConfig (npm start) refuses this; a caller that builds the config itself gets a warning.
    log.warn('production mode WITHOUT client authentication: no trusted issuers configured; any caller can reach the hooks');
  }
  const identityProviders = opts.annotatorIssuers ?? (config.annotatorIssuersFile ? await loadTrustedIssuers(config.annotatorIssuersFile) : []);
  const staff = staffVerifiers(config, identityProviders, publicBaseUrl);
  const annotatorAuth = opts.annotatorAuth ?? annotatorAuthFrom(config, identityProviders, staff, log);
  const modelAdminAuth = opts.modelAdminAuth ?? modelAdminAuthFrom(config, identityProviders, staff, log);
  const hookQueue = createWorkQueue({ concurrency: config.maxConcurrentHooks, maxQueued: config.maxQueuedHooks, maxWaitMs: config.maxQueueWaitMs });
  registerQueueGauges(metrics, { hooks: () => hookQueue.stats(), inference: () => limited.stats() });

  const app = createApp({
    services,
    runHook: createTriageHook({
      model: () => live.current(),
      admit: (job) => hookQueue.run(job),
      rules,
      gate,
      valueSet,
      terminology,
      config: { ...config, allowedFhirServers },
      publicBaseUrl,
      feedback,
      metrics,
      log,
      onReport: keepReport,
      ...(opts.viewerBaseUrl ? { viewerBaseUrl: opts.viewerBaseUrl } : {}),
      ...(config.viewerSmartLink ? { viewerLaunchUrl: `${publicBaseUrl}${VIEWER_LAUNCH_PATH}` } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.newId ? { newId: opts.newId } : {}),
    }),
    feedback,
    metrics,
    log,
    model: () => live.current().manifest,
    storeReady: () => store.ping(),
    ...(config.rateLimitRequests > 0 ? { rateLimit: rateLimit({ requests: config.rateLimitRequests, windowSeconds: config.rateLimitWindowSeconds, counters: store, log }) } : {}),
    openapi: JSON.parse(openapiText),
    maxBodyBytes: config.maxBodyBytes,
    retryAfterSeconds: config.retryAfterSeconds,
    ...(authenticate ? { authenticate } : {}),
    ...(config.corsOrigins.length > 0 ? { cors: corsForOrigins({ origins: config.corsOrigins }) } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    mount: (a) => {
      mountAnnotationRoutes(a, {
        store,
        reports: store,
        // Every version has the installed model's patterns, in its order (checked at registration).
        patterns: installed.patterns,
        terminology,
        auth: annotatorAuth,
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...(opts.newId ? { newId: opts.newId } : {}),
      });
      mountModelRoutes(a, { control: changeControl, auth: modelAdminAuth });
      // Before opts.mount: the sandbox's /viewer/<report id> must not shadow /viewer/launch.
      mountViewerRoutes(a, {
        allowedFhirServers,
        publicBaseUrl,
        clientId: config.smartClientId,
        scopes: config.smartScopes,
        timeoutMs: config.fhirTimeoutMs,
        maxImageBytes: config.maxImageBytes,
        viewer: { terminology, manifest: installed },
        log,
      });
      a.get('/model-card', (_req, res) => {
        // The live version's manifest, plus the image gate as this service applies it (sandbox: model checks warn).
        const manifest = live.current().manifest;
        res.json({
          ...manifest,
          live: { version: manifest.version, since: live.since() },
          imageGate: {
            name: gate.name,
            version: gate.version,
            checks: gate.checks.map((c) => ({ code: c.code, measure: c.measure, direction: c.direction, limit: c.limit, action: c.action })),
            modelChecks: gate.modelChecks,
          },
        });
      });
      opts.mount?.(a);
    },
  });
  return {
    app,
    get model() {
      return live.current();
    },
    models: live,
    feedback,
    store,
    metrics,
    allowedFhirServers,
    clientAuth: authenticate !== undefined,
    hookQueue: () => hookQueue.stats(),
    drain: (timeoutMs) => hookQueue.drain(timeoutMs),
    async close() {
      live.close();
      if (ownsStore) {
        await store.close();
      }
      await model.close();
    },
  };
}

/** Verifies hospital staff tokens from the identity providers, requiring `role`; annotators and model administrators share one key store. */
interface StaffVerifiers {
  readonly audience: string;
  forRole(role: string): StaffJwtVerifier;
}

function staffVerifiers(config: ServiceConfig, issuers: readonly TrustedIssuer[], publicBaseUrl: string): StaffVerifiers {
  const keys = createKeyStore();
  const audience = config.annotatorAudience ?? publicBaseUrl;
  return {
    audience,
    forRole: (role) => createStaffJwtVerifier({ issuers, audience, roleClaim: config.annotatorRoleClaim, role, clockSkewSeconds: config.jwtClockSkewSeconds }, { keys }),
  };
}

/** Annotator JWTs from the configured identity providers; without any, annotation is off (401). */
function annotatorAuthFrom(config: ServiceConfig, issuers: readonly TrustedIssuer[], staff: StaffVerifiers, log: Logger): AnnotatorAuth {
  if (issuers.length === 0) {
    log.info('annotation API off: no annotator issuers configured (ANNOTATOR_ISSUERS_FILE)');
    return annotationOff(log);
  }
  log.info('annotator JWT authentication on', { issuers: issuers.map((i) => i.iss), audience: staff.audience, role: `${config.annotatorRoleClaim} contains ${config.annotatorRole}` });
  return bearerAnnotatorAuth({ verifier: staff.forRole(config.annotatorRole), log });
}

/** Model administrators: tokens from the same identity providers with MODEL_ADMIN_ROLE; without any provider, the admin API is off (403). */
function modelAdminAuthFrom(config: ServiceConfig, issuers: readonly TrustedIssuer[], staff: StaffVerifiers, log: Logger): ModelAdminAuth {
  if (issuers.length === 0) {
    log.info('model admin API off: no identity providers configured (ANNOTATOR_ISSUERS_FILE)');
    return modelAdminOff(log);
  }
  return bearerModelAdminAuth({ verifier: staff.forRole(config.modelAdminRole), log });
}

/** Where clients reach this service (config.publicBaseUrl, else localhost at its port), without a trailing slash. */
export function publicBaseUrlOf(config: Pick<ServiceConfig, 'publicBaseUrl' | 'port'>): string {
  return (config.publicBaseUrl ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
}
