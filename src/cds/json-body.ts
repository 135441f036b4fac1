import express from 'express';
import type { RequestHandler } from 'express';
import { OperationOutcomeError, unsupportedMediaType } from '../common/outcomes.ts';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * The JSON body of a POST, for every endpoint of the service: a body in another media type is a
 * 415 OperationOutcome (express.json alone would skip it and the handler would see no body, a
 * misleading 400); a body over `limitBytes` is a 413 (the error handler). No body at all passes:
 * some POSTs (promote, rollback) take an optional one.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    // req.is: null without a body, false for a body of another type; an empty body is no body.
    if (req.is(JSON_TYPES) === false && req.headers['content-length'] !== '0') {
      next(new OperationOutcomeError(unsupportedMediaType(`request body must be JSON (Content-Type application/json), not ${req.headers['content-type'] ?? 'unspecified'}`)));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, strict: true, type: JSON_TYPES })];
}
