import type { Request, Response } from 'express';
import type { Annotator } from '../../annotation/annotation-store.ts';
import type { Logger } from '../../common/logger.ts';
import { OperationOutcomeError, forbidden } from '../../common/outcomes.ts';
import type { StaffJwtVerifier } from './staff-jwt.ts';
import { UNAUTHENTICATED, identifyStaff } from './staff-bearer.ts';

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

const NOT_AN_ANNOTATOR = new OperationOutcomeError(forbidden('this user is not an annotator'));

/**
 * Production: `Authorization: Bearer <JWT>` from a configured identity provider, with the annotator
 * role (src/cds/auth/staff-jwt.ts). Writes, lists and exports alike (staff-bearer.ts: 401 or
 * 403, the reason logged, never the token).
 */
export function bearerAnnotatorAuth(opts: { readonly verifier: StaffJwtVerifier; readonly log: Pick<Logger, 'warn'> }): AnnotatorAuth {
  const identify = (req: Request, res: Response): Promise<Annotator> =>
    identifyStaff(req, res, { ...opts, event: 'annotator authentication failed', forbidden: NOT_AN_ANNOTATOR });
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
