import type { Request, Response } from 'express';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, forbidden, unauthenticated } from '../../common/outcomes.ts';
import type { AnnotatorJwtVerifier } from './annotator-jwt.ts';

/** Who may register, promote and roll back model versions; production and the sandbox differ only here. */
export interface ModelAdminAuth {
  /** The actor the audit records (the token's `sub`, or the demo admin's name); throws 401 or 403 otherwise. */
  admin(req: Request, res: Response): Promise<string>;
  readonly authentication: 'bearer' | 'demo' | 'off';
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const UNAUTHENTICATED = new OperationOutcomeError(unauthenticated('authentication required'));
const NOT_AN_ADMIN = new OperationOutcomeError(forbidden('this user may not change the model (no model administrator role)'));

/**
 * Production: `Authorization: Bearer <JWT>` from an annotator identity provider
 * (ANNOTATOR_ISSUERS_FILE), carrying MODEL_ADMIN_ROLE in ANNOTATOR_ROLE_CLAIM (the verifier is
 * createAnnotatorJwtVerifier with that role). 401 with `WWW-Authenticate: Bearer` without a usable
 * token, 403 for a valid one without the role; the reason is logged, never the token.
 */
export function bearerModelAdminAuth(opts: { readonly verifier: AnnotatorJwtVerifier; readonly log: Pick<Logger, 'warn'> }): ModelAdminAuth {
  return {
    authentication: 'bearer',
    async admin(req, res) {
      const header = req.headers.authorization;
      const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
      const path = req.originalUrl.split('?')[0] ?? '';
      if (!token) {
        opts.log.warn('model admin authentication failed', { path, reason: header ? 'Authorization scheme is not Bearer' : 'no Authorization header' });
        res.setHeader('WWW-Authenticate', 'Bearer');
        throw UNAUTHENTICATED;
      }
      const result = await opts.verifier.verify(token);
      if (result.ok) {
        return result.annotator.id;
      }
      opts.log.warn('model admin authentication failed', { path, status: result.status, reason: result.reason, ...(result.iss ? { iss: result.iss } : {}), ...(result.sub ? { sub: result.sub } : {}) });
      if (result.status === 403) {
        throw NOT_AN_ADMIN;
      }
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw UNAUTHENTICATED;
    },
  };
}

/** Production without identity providers: the model cannot be changed through the API (403, saying why). */
export function modelAdminOff(log: Pick<Logger, 'warn'>): ModelAdminAuth {
  return {
    authentication: 'off',
    async admin(req) {
      log.warn('model admin authentication failed', { path: req.originalUrl.split('?')[0] ?? '', reason: 'no identity providers configured (ANNOTATOR_ISSUERS_FILE)' });
      return Promise.reject(new OperationOutcomeError(forbidden('model administration is off on this service: no identity providers are configured (ANNOTATOR_ISSUERS_FILE)')));
    },
  };
}
