import { resolve } from 'node:path';
import express from 'express';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { FhirGateway } from '../fhir/fhir-gateway.ts';
import { OperationOutcomeError, badRequest, notFound } from '../common/outcomes.ts';
import { tryReadSavedReport } from '../viewer/read-saved-report.ts';
import type { FeedbackStore } from '../feedback/feedback-store.ts';
import { pageQueue, parseQueueQuery, withDecisions } from '../viewer/queue-query.ts';
import type { ReportStore } from '../viewer/report-store.ts';
import type { FhirViewerContext } from '../viewer/viewer-model-fhir.ts';
import { viewerModelFromFhir } from '../viewer/viewer-model-fhir.ts';
import type { ViewerModel } from '../viewer/viewer-model.ts';
import { isRecord } from '../common/is-record.ts';
import { PAGE_CSP, PAGE_DIR } from '../cds/viewer-routes.ts';

export const SANDBOX_PUBLIC_DIR = PAGE_DIR;

/**
 * Scripts and styles only from this origin (src/cds/viewer-routes.ts, PAGE_CSP): the sandbox pages
 * and the viewer share one policy.
 */
export const SANDBOX_CSP = PAGE_CSP;

export interface SandboxDeps {
  readonly store: Pick<ReportStore, 'tryGet' | 'queue'>;
  /** Card feedback: what was decided (accepted, overridden) on each queue row's card. */
  readonly decisions: Pick<FeedbackStore, 'listCardOutcomes'>;
  /** The FHIR server holding saved reports, for this request (the embedded one, at /fhir). */
  readonly fhirFor: (req: Request) => Pick<FhirGateway, 'read' | 'search'>;
  readonly viewer: FhirViewerContext;
  /**
   * When the service checks CDS client JWTs: signs one for a hook call to `audience` (the service
   * URL), as the sandbox's own CDS client. Absent: the page calls hooks without Authorization.
   */
  readonly signHookToken?: (audience: string) => Promise<string>;
}

const contentSecurityPolicy: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', SANDBOX_CSP);
  next();
};

/** The models page (versions, the patterns each assesses, promote and roll back); not `/models`, the JSON API. */
export const MODELS_PAGE_PATH = '/models-page';

/**
 * The sandbox front end: the EHR-like page at `/`, the result viewer at `/viewer/<report id>` (the
 * cards' link target), the models page at `/models-page`, their scripts under `/sandbox/`, and two
 * read-only JSON routes.
 */
export function mountSandbox(app: Express, deps: SandboxDeps): void {
  const page = (file: string): RequestHandler => (_req, res) => {
    res.type('html').sendFile(resolve(SANDBOX_PUBLIC_DIR, file));
  };
  app.get('/', contentSecurityPolicy, page('index.html'));
  app.get('/viewer/:id', contentSecurityPolicy, page('viewer.html'));
  // The model registry for people; `/models` itself is the registry's JSON API (core service).
  app.get(MODELS_PAGE_PATH, contentSecurityPolicy, page('models.html'));
  app.use('/sandbox', contentSecurityPolicy, express.static(SANDBOX_PUBLIC_DIR, { index: false, redirect: false }));

  // The page asks before each hook call; `{}` means "no client authentication configured".
  app.post('/sandbox/api/hook-token', express.json({ limit: 4096 }), async (req: Request, res: Response) => {
    const audience: unknown = isRecord(req.body) ? req.body.audience : undefined;
    if (typeof audience !== 'string' || !audience) {
      throw new OperationOutcomeError(badRequest('audience (the CDS service URL) is required', 'audience'));
    }
    res.json(deps.signHookToken ? { token: await deps.signHookToken(audience) } : {});
  });

  // Filtered, sorted and paged here, not in the page: the queue grows past what one page shows.
  app.get('/sandbox/api/queue', async (req: Request, res: Response) => {
    const query = parseQueueQuery(req.query);
    const [entries, outcomes] = await Promise.all([deps.store.queue(), deps.decisions.listCardOutcomes()]);
    res.json(pageQueue(withDecisions(entries, outcomes), query));
  });

  app.get('/sandbox/api/reports/:id', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const model = await findViewerModel(deps, req, id);
    if (!model) {
      throw new OperationOutcomeError(notFound(`no triage report "${id}" in this sandbox or its FHIR server`));
    }
    res.json(model);
  });
}

async function findViewerModel(deps: SandboxDeps, req: Request, id: string): Promise<ViewerModel | undefined> {
  const stored = await deps.store.tryGet(id);
  if (stored) {
    return stored;
  }
  const saved = await tryReadSavedReport(deps.fhirFor(req), id);
  return saved ? viewerModelFromFhir(saved, deps.viewer) : undefined;
}

/**
 * This server's own /fhir, by the address the request came in on: never the Host header, which
 * the client chooses.
 */
export function ownFhirBase(req: Request): string {
  const address = req.socket.localAddress ?? '127.0.0.1';
  const host = address.startsWith('::ffff:') ? address.slice(7) : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${req.socket.localPort ?? 80}/fhir`;
}
