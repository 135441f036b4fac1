import type { ErrorRequestHandler } from 'express';
import type { OperationOutcome } from 'fhir/r4';
import { OperationOutcomeError, badRequest, getStatus, serverError, tooCostly } from '../common/outcomes.ts';

export interface ErrorLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ErrorHandlerOptions {
  /** Retry-After on every 503 that does not carry its own (overload, draining, a store down). Default 1. */
  readonly retryAfterSeconds?: number;
}

/** The one place errors become HTTP: an OperationOutcome body with the status its code maps to. */
export function errorHandler(log: ErrorLogger, opts: ErrorHandlerOptions = {}): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let outcome: OperationOutcome;
    let status: number;
    if (err instanceof OperationOutcomeError) {
      outcome = err.outcome;
      status = getStatus(outcome);
    } else if (isBodyParserError(err)) {
      status = err.status;
      outcome = err.status === 413 ? tooCostly('request body too large') : badRequest('request body is not valid JSON');
    } else {
      status = 500;
      outcome = serverError('internal error');
      log.error('unhandled error', { path: req.path, error: err instanceof Error ? err.message : String(err) });
    }
    if (status === 503 && err instanceof OperationOutcomeError) {
      // Overload and draining are expected states: at error level they would flood the log exactly then.
      log.warn('request refused', { path: req.path, error: err.message });
    } else if (status >= 500 && err instanceof OperationOutcomeError) {
      log.error('request failed', { path: req.path, error: err.message });
    }
    if (status === 503 && !res.hasHeader('Retry-After')) {
      res.setHeader('Retry-After', String(opts.retryAfterSeconds ?? 1));
    }
    res.status(status).type('application/fhir+json').json(outcome);
  };
}

function isBodyParserError(err: unknown): err is { status: number; type: string } {
  return typeof err === 'object' && err !== null && 'status' in err && 'type' in err && typeof err.status === 'number' && typeof err.type === 'string';
}
