import type { Request, Response } from 'express';
import type { Annotator } from '../../annotation/annotation-store.ts';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, forbidden, unauthenticated } from '../../common/outcomes.ts';
import type { AnnotatorJwtVerifier } from './annotator-jwt.ts';

/** What GET /annotations/annotators tells the viewer: how to identify, and (sandbox) whom to offer. */
export interface AnnotatorDirectory {
  /** `bearer`: an identity provider's token; `demo`: a named demo annotator in a header (sandbox); `off`: annotation not configured. */
  readonly authentication: 'bearer' | 'demo' | 'off';
  /** The header that names a demo annotator. */
  readonly header?: string;
  readonly annotators: readonly { readonly id: string; readonly name: string }[];
}

/** Who may annotate and read annotations; production and the sandbox differ only here. */
export interface AnnotatorAuth {
  /** The annotator of a write; throws an OperationOutcomeError (401, 403) otherwise. */
  annotator(req: Request, res: Response): Promise<Annotator>;
  /** Lists and exports; throws an OperationOutcomeError (401, 403) when not allowed. */
  allowRead(req: Request, res: Response): Promise<void>;
  readonly directory: AnnotatorDirectory;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** As for CDS clients: the caller learns nothing it could probe with; the log says why. */
const UNAUTHENTICATED = new OperationOutcomeError(unauthenticated('authentication required'));
const NOT_AN_ANNOTATOR = new OperationOutcomeError(forbidden('this user is not an annotator'));

/**
 * Production: `Authorization: Bearer <JWT>` from a configured identity provider, with the annotator
 * role (src/cds/auth/annotator-jwt.ts). Writes, lists and exports alike. 401 with
 * `WWW-Authenticate: Bearer`, or 403 for a valid token without the role; the reason is logged,
 * never the token.
 */
export function bearerAnnotatorAuth(opts: { readonly verifier: AnnotatorJwtVerifier; readonly log: Pick<Logger, 'warn'> }): AnnotatorAuth {
  const identify = async (req: Request, res: Response): Promise<Annotator> => {
    const header = req.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    const path = req.originalUrl.split('?')[0] ?? '';
    if (!token) {
      opts.log.warn('annotator authentication failed', { path, reason: header ? 'Authorization scheme is not Bearer' : 'no Authorization header' });
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw UNAUTHENTICATED;
    }
    const result = await opts.verifier.verify(token);
    if (result.ok) {
      return result.annotator;
    }
    opts.log.warn('annotator authentication failed', { path, status: result.status, reason: result.reason, ...(result.iss ? { iss: result.iss } : {}), ...(result.sub ? { sub: result.sub } : {}) });
    if (result.status === 403) {
      throw NOT_AN_ANNOTATOR;
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw UNAUTHENTICATED;
  };
  return {
    annotator: identify,
    allowRead: async (req, res) => {
      await identify(req, res);
    },
    directory: { authentication: 'bearer', annotators: [] },
  };
}

/** Production without annotator issuers: every annotation call is refused (401). */
export function annotationOff(log: Pick<Logger, 'warn'>): AnnotatorAuth {
  const refuse = async (req: Request, res: Response): Promise<never> => {
    log.warn('annotator authentication failed', { path: req.originalUrl.split('?')[0] ?? '', reason: 'no annotator issuers configured (ANNOTATOR_ISSUERS_FILE)' });
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw UNAUTHENTICATED;
  };
  return { annotator: refuse, allowRead: refuse, directory: { authentication: 'off', annotators: [] } };
}
