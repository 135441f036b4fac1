import type { Request, Response } from 'express';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, forbidden } from '../../common/outcomes.ts';
import type { StaffJwtVerifier } from './staff-jwt.ts';
import { identifyStaff } from './staff-bearer.ts';

/** Who may register, promote and roll back model versions; production and the sandbox differ only here. */
export interface ModelAdminAuth {
  /** The actor the audit records (the token's `sub`, or the demo admin's name); throws 401 or 403 otherwise. */
  admin(req: Request, res: Response): Promise<string>;
  readonly authentication: 'bearer' | 'demo' | 'off';
}

const NOT_AN_ADMIN = new OperationOutcomeError(forbidden('this user may not change the model (no model administrator role)'));

/**
 * Production: `Authorization: Bearer <JWT>` from an annotator identity provider
 * (ANNOTATOR_ISSUERS_FILE), carrying MODEL_ADMIN_ROLE in ANNOTATOR_ROLE_CLAIM (the verifier is
 * createStaffJwtVerifier with that role). 401 or 403 as in staff-bearer.ts; the actor is the
 * token's `sub`.
 */
export function bearerModelAdminAuth(opts: { readonly verifier: StaffJwtVerifier; readonly log: Pick<Logger, 'warn'> }): ModelAdminAuth {
  return {
    authentication: 'bearer',
    async admin(req, res) {
      return (await identifyStaff(req, res, { ...opts, event: 'model admin authentication failed', forbidden: NOT_AN_ADMIN })).id;
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
