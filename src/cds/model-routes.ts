import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation-outcome.ts';
import type { ChangeControl } from '../registry/change-control.ts';
import type { ModelAdminAuth } from './auth/model-admin-auth.ts';
import { jsonBody } from './json-body.ts';

/** A candidate manifest (1,280 weights a learned head) and its acceptance report, with room to spare. */
export const MODEL_BODY_LIMIT = 4 * 1024 * 1024;

export interface ModelRouteDeps {
  readonly control: ChangeControl;
  readonly auth: ModelAdminAuth;
}

const ADMIN = 'modelAdmin';
const reason = z.string().min(1).max(1000);
const registerBody = z.object({ manifest: z.unknown(), acceptance: z.unknown() }).strict().refine((b) => b.manifest !== undefined && b.acceptance !== undefined, 'both manifest and acceptance are required');
const promoteBody = z.object({ reason: reason.optional() }).strict();
const rollbackBody = z.object({ to: z.string().min(1).optional(), reason: reason.optional() }).strict();

/**
 * Change control of the model (issue #16 point 4): the versions and the audit are public (no
 * patient data); registering, promoting and rolling back need a model administrator, checked
 * before the body is read. Errors are OperationOutcomes.
 */
export function mountModelRoutes(app: Express, deps: ModelRouteDeps): void {
  const json = jsonBody(MODEL_BODY_LIMIT);
  const admin: RequestHandler = async (req, res, next) => {
    res.locals[ADMIN] = await deps.auth.admin(req, res);
    next();
  };
  const actor = (res: Response): string => String(res.locals[ADMIN]);

  app.get('/models', async (_req: Request, res: Response) => {
    res.json(await deps.control.overview());
  });

  app.get('/models/audit', async (_req: Request, res: Response) => {
    res.json({ entries: await deps.control.audit() });
  });

  app.post('/models', admin, json, async (req: Request, res: Response) => {
    const body = parseOrThrow(registerBody, req.body ?? {}, 'body');
    res.status(201).json(await deps.control.register({ manifest: body.manifest, acceptance: body.acceptance }, actor(res)));
  });

  app.post('/models/rollback', admin, json, async (req: Request, res: Response) => {
    const body = parseOrThrow(rollbackBody, req.body ?? {}, 'body');
    res.json(await deps.control.rollback(body, actor(res)));
  });

  app.post('/models/:version/promote', admin, json, async (req: Request, res: Response) => {
    const body = parseOrThrow(promoteBody, req.body ?? {}, 'body');
    res.json(await deps.control.promote(String(req.params.version), actor(res), body.reason));
  });
}
