import type { Request, Response } from 'express';
import type { Annotator } from '../annotation/annotation-store.ts';
import type { AnnotatorAuth } from '../cds/auth/annotator-auth.ts';
import { bearerAnnotatorAuth } from '../cds/auth/annotator-auth.ts';
import type { StaffJwtVerifier } from '../cds/auth/staff-jwt.ts';
import type { Logger } from '../common/logger.ts';
import { OperationOutcomeError, unauthenticated } from '../common/outcomes.ts';

/** The header that names the demo annotator of a write (sandbox only; production never reads it). */
export const DEMO_ANNOTATOR_HEADER = 'X-Demo-Annotator';

/** Not a URL anyone could issue tokens from, so a demo vote can never pass for a real annotator's. */
export const DEMO_ANNOTATOR_ISSUER = 'urn:bcc-cds:sandbox:demo-annotator';

/** Three, so the consensus step (which needs several raters to weigh them) can be shown end to end. */
export const DEMO_ANNOTATORS: readonly { readonly id: string; readonly name: string }[] = [
  { id: 'derm-a', name: 'Demo dermatologist A' },
  { id: 'derm-b', name: 'Demo dermatologist B' },
  { id: 'derm-c', name: 'Demo dermatologist C' },
];

/**
 * The sandbox's annotators: a write names one of the demo annotators in X-Demo-Annotator (the
 * viewer offers them from GET /annotations/annotators); lists and exports are open, as the rest
 * of the sandbox is. Anything else is 401.
 */
export function demoAnnotatorAuth(): AnnotatorAuth {
  const names = DEMO_ANNOTATORS.map((a) => a.id).join(', ');
  return {
    async annotator(req: Request, _res: Response): Promise<Annotator> {
      const id = req.get(DEMO_ANNOTATOR_HEADER);
      const demo = DEMO_ANNOTATORS.find((a) => a.id === id);
      if (!demo) {
        throw new OperationOutcomeError(unauthenticated(`name a demo annotator in ${DEMO_ANNOTATOR_HEADER}: one of ${names}`));
      }
      return { issuer: DEMO_ANNOTATOR_ISSUER, id: demo.id, name: demo.name };
    },
    async allowRead(): Promise<void> {
      // Open, as the rest of the sandbox is.
      await Promise.resolve();
    },
    directory: { authentication: 'demo', header: DEMO_ANNOTATOR_HEADER, annotators: DEMO_ANNOTATORS },
  };
}

/**
 * The sandbox's annotators when the viewer was launched as a SMART app: a write with
 * `Authorization: Bearer <id_token>` is verified as production verifies it (staff-jwt.ts, here
 * against the sandbox authorization server's key, `aud` = the viewer's client id, the annotator
 * role), and stored under that token's issuer and `sub`; without Authorization, the demo header as
 * before. Lists and exports stay open.
 */
export function sandboxAnnotatorAuth(opts: { readonly verifier: StaffJwtVerifier; readonly log: Pick<Logger, 'warn'> }): AnnotatorAuth {
  const demo = demoAnnotatorAuth();
  const bearer = bearerAnnotatorAuth(opts);
  return {
    annotator: (req, res) => (req.headers.authorization !== undefined ? bearer.annotator(req, res) : demo.annotator(req, res)),
    allowRead: (req, res) => demo.allowRead(req, res),
    directory: demo.directory,
  };
}
