import type { Request, Response } from 'express';
import type { Annotator } from '../../annotation/annotation-store.ts';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, unauthenticated } from '../../common/outcomes.ts';
import type { StaffJwtVerifier } from './staff-jwt.ts';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** As for CDS clients: the caller learns nothing it could probe with; the log says why. */
export const UNAUTHENTICATED = new OperationOutcomeError(unauthenticated('authentication required'));

/**
 * The hospital user behind `Authorization: Bearer <JWT>` from a configured identity provider
 * (annotators and model administrators differ only in the role the verifier requires). 401 with
 * `WWW-Authenticate: Bearer` without a usable token, `forbidden` (403) for a valid token without the
 * role; the reason is logged under `event`, never the token.
 */
export async function identifyStaff(
  req: Request,
  res: Response,
  opts: { readonly verifier: StaffJwtVerifier; readonly log: Pick<Logger, 'warn'>; readonly event: string; readonly forbidden: OperationOutcomeError },
): Promise<Annotator> {
  const header = req.headers.authorization;
  const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  const path = req.originalUrl.split('?')[0] ?? '';
  if (!token) {
    opts.log.warn(opts.event, { path, reason: header ? 'Authorization scheme is not Bearer' : 'no Authorization header' });
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw UNAUTHENTICATED;
  }
  const result = await opts.verifier.verify(token);
  if (result.ok) {
    return result.annotator;
  }
  opts.log.warn(opts.event, { path, status: result.status, reason: result.reason, ...(result.iss ? { iss: result.iss } : {}), ...(result.sub ? { sub: result.sub } : {}) });
  if (result.status === 403) {
    throw opts.forbidden;
  }
  res.setHeader('WWW-Authenticate', 'Bearer');
  throw UNAUTHENTICATED;
}
