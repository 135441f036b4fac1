import type { RequestHandler, Response } from 'express';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, unauthenticated, unavailable } from '../../common/outcomes.ts';
import type { ClientJwtVerifier, VerifiedClient } from './verify-client-jwt.ts';

/** What the client is told on any authentication failure: nothing it could use to probe. */
const UNAUTHENTICATED = new OperationOutcomeError(unauthenticated('authentication required'));

/** The token could not be checked (the replay store failed): the client should retry, not re-authenticate. */
const UNAVAILABLE = new OperationOutcomeError(unavailable('client authentication is temporarily unavailable; retry later'));

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export interface ClientAuthOptions {
  readonly verifier: ClientJwtVerifier;
  /** The service's public URL (no trailing slash); `aud` must equal it plus the request path. */
  readonly publicBaseUrl: string;
  readonly log: Pick<Logger, 'warn' | 'error'>;
}

/**
 * CDS Hooks 2.0 client authentication for discovery, hooks and feedback: `Authorization: Bearer
 * <JWT>` with `aud` equal to the exact URL called. A failure is 401 with a bare OperationOutcome and
 * `WWW-Authenticate: Bearer`; when the token could not be checked at all (the `jti` replay store
 * failed) it is 503 instead (the error handler adds Retry-After). The reason is logged here, without the token.
 */
export function requireClientJwt(opts: ClientAuthOptions): RequestHandler {
  const base = opts.publicBaseUrl.replace(/\/+$/, '');
  return async (req, res, next) => {
    const path = req.originalUrl.split('?')[0] ?? '';
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    const token = m?.[1];
    const result = token
      ? await opts.verifier.verify(token, `${base}${path}`)
      : ({ ok: false, unavailable: false, reason: header ? 'Authorization scheme is not Bearer' : 'no Authorization header' } as const);
    if (result.ok) {
      setVerifiedClient(res, result.client);
      next();
      return;
    }
    const fields = {
      path,
      reason: result.reason,
      ...('iss' in result && result.iss !== undefined ? { iss: result.iss } : {}),
      ...('kid' in result && result.kid !== undefined ? { kid: result.kid } : {}),
    };
    if (result.unavailable) {
      opts.log.error('client authentication unavailable', fields);
      next(UNAVAILABLE);
      return;
    }
    opts.log.warn('client authentication failed', fields);
    res.setHeader('WWW-Authenticate', 'Bearer');
    next(UNAUTHENTICATED);
  };
}

const CLIENT = 'cdsClient';

function setVerifiedClient(res: Response, client: VerifiedClient): void {
  res.locals[CLIENT] = client;
}

/** The authenticated client of this request, when client authentication is on. */
export function tryGetVerifiedClient(res: Response): VerifiedClient | undefined {
  const c: unknown = res.locals[CLIENT];
  return typeof c === 'object' && c !== null && 'iss' in c && 'sub' in c && 'jti' in c ? (c as VerifiedClient) : undefined;
}
