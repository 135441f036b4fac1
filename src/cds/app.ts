import express from 'express';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { FeedbackStore } from '../feedback/feedback-store.ts';
import type { Logger } from '../common/logger.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { OperationOutcomeError, badRequest, getStatus, notFound } from '../common/outcomes.ts';
import { errorHandler } from './error-handler.ts';
import { parseFeedback } from './feedback-request.ts';
import type { HookRequest } from './hook-request.ts';
import { parseHookRequest } from './hook-request.ts';
import type { ServiceMetrics } from './metrics.ts';
import type { CdsServiceDefinition } from './service-definitions.ts';
import { jsonBody } from './json-body.ts';

/** What the app needs to answer a hook; the triage pipeline lives behind it. */
export type HookRunner = (service: CdsServiceDefinition, request: HookRequest) => Promise<{ readonly cards: readonly unknown[]; readonly systemActions?: readonly unknown[] }>;

export interface AppDeps {
  readonly services: readonly CdsServiceDefinition[];
  readonly runHook: HookRunner;
  readonly feedback: FeedbackStore;
  readonly metrics: ServiceMetrics;
  readonly log: Logger;
  /** The model answering hooks (the app is built only once it has loaded). */
  readonly model: () => ModelManifest;
  readonly openapi: unknown;
  readonly maxBodyBytes: number;
  /** Client authentication (src/auth) on discovery, hooks and feedback; absent: unauthenticated. */
  readonly authenticate?: RequestHandler;
  /** Per-client rate limit on hooks and feedback (src/cds/rate-limit.ts), after authentication. */
  readonly rateLimit?: RequestHandler;
  /** Readiness also needs the shared store; rejects when it cannot be reached. */
  readonly storeReady?: () => Promise<void>;
  /** CORS on /cds-services and below, preflight included; runs before authentication. */
  readonly cors?: RequestHandler;
  /** Retry-After on every 503 (overload, draining, a store down); the error handler sets it. Default 1. */
  readonly retryAfterSeconds?: number;
  readonly clock?: () => Date;
  /** Extra routes (sandbox FHIR server, demo page, viewer), mounted before the error handler. */
  readonly mount?: (app: Express) => void;
}

/** Probe paths, declared once: the routes below, the Dockerfile and deploy/k8s use them (test/deploy). */
export const HEALTH_PATHS = { liveness: '/healthz', readiness: '/readyz' } as const;

/** The HTTP edge: discovery, hooks, feedback, health, metrics, OpenAPI. No clinical logic here. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  const clock = deps.clock ?? ((): Date => new Date());
  app.disable('x-powered-by');
  app.set('json spaces', 0);
  app.use(securityHeaders);
  const pass: RequestHandler = (_req, _res, next) => { next(); };
  const authenticate: RequestHandler = deps.authenticate ?? pass;
  const limit: RequestHandler = deps.rateLimit ?? pass;
  if (deps.cors) {
    app.use('/cds-services', deps.cors);
  }
  const json = jsonBody(deps.maxBodyBytes);

  app.get('/cds-services', authenticate, (_req, res) => {
    res.json({ services: deps.services });
  });

  const findService = (req: Request): CdsServiceDefinition => {
    const service = deps.services.find((s) => s.id === req.params.id);
    if (!service) {
      throw new OperationOutcomeError(notFound(`no CDS service "${String(req.params.id)}"`));
    }
    return service;
  };

  app.post('/cds-services/:id', authenticate, limit, json, async (req: Request, res: Response) => {
    const service = findService(req);
    const stop = deps.metrics.hookSeconds.startTimer({ service: service.id });
    try {
      const request = parseHookRequest(req.body);
      if (request.hook !== service.hook) {
        throw new OperationOutcomeError(badRequest(`service ${service.id} answers ${service.hook}, not ${request.hook}`, 'hook'));
      }
      const response = await deps.runHook(service, request);
      deps.metrics.hooks.inc({ service: service.id, status: '200' });
      res.json(response);
    } catch (err) {
      const status = err instanceof OperationOutcomeError ? getStatus(err.outcome) : 500;
      deps.metrics.hooks.inc({ service: service.id, status: String(status) });
      throw err;
    } finally {
      stop();
    }
  });

  app.post('/cds-services/:id/feedback', authenticate, limit, json, async (req: Request, res: Response) => {
    const service = findService(req);
    const items = parseFeedback(service.id, req.body);
    await deps.feedback.recordFeedback(items, clock().toISOString());
    const versions = await deps.feedback.cardModelVersions(items.map((f) => f.card));
    for (const f of items) {
      deps.metrics.feedback.inc({ outcome: f.outcome });
      deps.metrics.cardOutcomes.inc({ outcome: f.outcome, model_version: versions.get(f.card) ?? 'unknown' });
    }
    res.status(200).json({ stored: items.length });
  });

  // Liveness never touches the store: a database outage must not restart every replica.
  app.get(HEALTH_PATHS.liveness, (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(HEALTH_PATHS.readiness, async (_req, res) => {
    const m = deps.model();
    const storeOk = deps.storeReady ? await deps.storeReady().then(() => true, () => false) : true;
    res.status(storeOk ? 200 : 503).json(storeOk ? { status: 'ready', model: { name: m.name, version: m.version } } : { status: 'store unavailable' });
  });
  app.get('/metrics', (async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  }) satisfies RequestHandler);
  app.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi);
  });

  deps.mount?.(app);
  app.use((req, _res, next) => {
    next(new OperationOutcomeError(notFound(`no route ${req.method} ${req.path}`)));
  });
  app.use(errorHandler(deps.log, { retryAfterSeconds: deps.retryAfterSeconds }));
  return app;
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
  next();
};
