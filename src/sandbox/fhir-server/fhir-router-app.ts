/**
 * FHIR R4 REST over express, backed by Medplum's FhirRouter (routing, search parsing, batch/transaction
 * with urn:uuid rewriting) and an in-memory repository. Mounted at `/fhir` by the sandbox and by
 * `main.ts`. Needs a global WebSocket: on Node 20 run node with `--experimental-websocket`.
 */
import express from 'express';
import type { ErrorRequestHandler, Request, Response, Router } from 'express';
import { badRequest, getStatus, isResourceType, normalizeOperationOutcome, OperationOutcomeError, unsupportedMediaType } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRepository, FhirRequest, HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { createLogger } from '../../common/logger.ts';
import { binaryFromUpload, isBinary, isRawBinaryUpload, sendRawBinary, wantsRawBinary } from './binary.ts';
import { capabilityStatement } from './capability-statement.ts';
import { ensureFhirDefinitions } from './definitions.ts';
import { createFhirRepository } from './repository.ts';
import { placeholderFullUrls } from './transaction-full-urls.ts';
import { unknownSearchParams } from './search-params.ts';
import { isRecord } from '../../common/is-record.ts';

export { createFhirRepository, ValidatingMemoryRepository } from './repository.ts';

/** Images travel base64 inside Media/Binary JSON. */
const BODY_LIMIT = '50mb';
const FHIR_JSON = 'application/fhir+json';
const JSON_TYPES: readonly string[] = ['application/json', 'application/*+json'];
const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export interface FhirServerErrorLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface FhirServerOptions {
  /** Absolute base URL for Location, fullUrl and metadata; default: derived per request (protocol, Host, mount path). */
  readonly baseUrl?: string;
  /** The repository to serve, e.g. one seeded beforehand; default: a fresh empty one. */
  readonly repository?: FhirRepository;
  /** Where unexpected (500) errors go; default: JSON lines on stderr, keeping stdout for the caller. */
  readonly logger?: FhirServerErrorLogger;
}

interface Context {
  readonly fhirRouter: FhirRouter;
  readonly repo: FhirRepository;
  readonly baseUrl: string | undefined;
}

export function createFhirServerRouter(opts: FhirServerOptions = {}): Router {
  ensureFhirDefinitions();
  const ctx: Context = { fhirRouter: new FhirRouter(), repo: opts.repository ?? createFhirRepository(), baseUrl: opts.baseUrl?.replace(/\/+$/, '') };
  const logger = opts.logger ?? createLogger((line) => process.stderr.write(`${line}\n`));
  const router = express.Router();
  router.use(express.json({ type: [...JSON_TYPES], limit: BODY_LIMIT }));
  // POST [type]/_search sends its parameters as a form.
  router.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  // body-parser types `req` as a bare IncomingMessage, but inside a router it is the express Request.
  router.use(express.raw({ type: (req) => isRawBinaryUpload(req as Request), limit: BODY_LIMIT }));
  router.use((req, res) => handle(req, res, ctx));
  router.use(errorHandler(logger));
  return router;
}

async function handle(req: Request, res: Response, ctx: Context): Promise<void> {
  // HEAD is answered as GET; node drops the body.
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (!isHttpMethod(method)) {
    sendResource(res, 405, outcome('not-supported', `Method ${req.method} is not supported`));
    return;
  }
  const baseUrl = ctx.baseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
  const segments = req.path.split('/').filter(Boolean);
  const first = segments[0];
  if (method === 'GET' && segments.length === 1 && first === 'metadata') {
    sendResource(res, 200, capabilityStatement(baseUrl));
    return;
  }
  const body = segments.length === 0 && method === 'POST' ? placeholderFullUrls(requestBody(req, segments), baseUrl) : requestBody(req, segments);
  const rejection = rejectBeforeRouting(req, method, segments, body);
  if (rejection) {
    sendResource(res, rejection.status, rejection.outcome);
    return;
  }
  const fhirRequest: FhirRequest = { method, url: req.url, pathname: '', body, params: {}, query: queryParams(req), headers: req.headers };
  const [result, resource] = await ctx.fhirRouter.handleRequest(fhirRequest, ctx.repo);
  const status = getStatus(result);
  if (!resource) {
    sendResource(res, status, result);
    return;
  }
  if (method === 'GET' && isBinary(resource) && wantsRawBinary(req, resource.contentType)) {
    sendRawBinary(res, resource, status);
    return;
  }
  setVersionHeaders(res, resource, status, baseUrl);
  sendResource(res, status, withFullUrls(resource, baseUrl, req.url));
}

interface Rejection {
  readonly status: number;
  readonly outcome: OperationOutcome;
}

/** Requests FhirRouter would mishandle: it would search an unknown type or parameter and report "no matches". */
function rejectBeforeRouting(req: Request, method: HttpMethod, segments: readonly string[], body: unknown): Rejection | undefined {
  const first = segments[0];
  if (first !== undefined && !first.startsWith('$') && !isResourceType(first)) {
    return { status: 404, outcome: outcome('not-found', `Unknown resource type: ${first}`) };
  }
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && body === undefined) {
    return req.get('content-type') ? { status: 415, outcome: unsupportedMediaType } : { status: 400, outcome: badRequest('Missing request body') };
  }
  if (first !== undefined && isTypeSearch(method, segments)) {
    const unknown = unknownSearchParams(first, method === 'GET' ? queryParams(req) : isRecord(body) ? body : {});
    if (unknown.length > 0) {
      return { status: 400, outcome: outcome('invalid', `Unknown search parameter for ${first}: ${unknown.join(', ')}`) };
    }
  }
  return undefined;
}

/** The parsed body, or for raw Binary uploads the Binary it stands for; `_search` forms also take URL parameters. */
function requestBody(req: Request, segments: readonly string[]): unknown {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) {
    return binaryFromUpload(body, req.get('content-type'), segments[1]);
  }
  if (req.method === 'POST' && segments[1] === '_search' && segments.length === 2) {
    return { ...queryParams(req), ...(isRecord(body) ? body : {}) };
  }
  return body;
}

/** `GET [type]?...` or `POST [type]/_search`. */
function isTypeSearch(method: HttpMethod, segments: readonly string[]): boolean {
  return (method === 'GET' && segments.length === 1) || (method === 'POST' && segments.length === 2 && segments[1] === '_search');
}

function queryParams(req: Request): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.query)) {
    if (typeof value === 'string') {
      query[key] = value;
    } else if (Array.isArray(value)) {
      query[key] = value.filter((v): v is string => typeof v === 'string');
    }
  }
  return query;
}

function setVersionHeaders(res: Response, resource: Resource, status: number, baseUrl: string): void {
  const versionId = resource.meta?.versionId;
  if (!resource.id || !versionId || resource.resourceType === 'Bundle') {
    return;
  }
  res.set('ETag', `W/"${versionId}"`);
  if (resource.meta?.lastUpdated) {
    res.set('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  }
  if (status === 201) {
    res.set('Location', `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${versionId}`);
  }
}

/** MemoryRepository leaves searchset/history entries without the fullUrl and self link that FHIR requires. */
function withFullUrls(resource: Resource, baseUrl: string, relativeUrl: string): Resource {
  if (resource.resourceType !== 'Bundle' || (resource.type !== 'searchset' && resource.type !== 'history')) {
    return resource;
  }
  const bundle: Bundle = resource;
  return {
    ...bundle,
    link: bundle.link ?? [{ relation: 'self', url: `${baseUrl}${relativeUrl}` }],
    entry: bundle.entry?.map((entry) =>
      entry.fullUrl || !entry.resource?.id ? entry : { fullUrl: `${baseUrl}/${entry.resource.resourceType}/${entry.resource.id}`, ...entry },
    ),
  };
}

function sendResource(res: Response, status: number, resource: Resource): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(resource));
}

function outcome(code: 'not-found' | 'not-supported' | 'too-costly' | 'invalid', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function errorHandler(logger: FhirServerErrorLogger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof OperationOutcomeError) {
      sendResource(res, getStatus(err.outcome), err.outcome);
      return;
    }
    // body-parser: malformed JSON (400), too large (413), unsupported charset (415).
    const status = httpStatusOf(err);
    if (status !== undefined && status < 500) {
      const code = status === 413 ? 'too-costly' : 'invalid';
      sendResource(res, status, outcome(code, err instanceof Error ? err.message : 'Invalid request'));
      return;
    }
    logger.error('fhir server error', { path: req.path, error: err instanceof Error ? err.message : String(err) });
    sendResource(res, 500, normalizeOperationOutcome(err));
  };
}

function httpStatusOf(err: unknown): number | undefined {
  if (isRecord(err) && typeof err.status === 'number' && err.status >= 400 && err.status < 600) {
    return err.status;
  }
  return undefined;
}

function isHttpMethod(method: string): method is HttpMethod {
  return METHODS.has(method);
}
