import type { Request } from 'express';
import type { ModelAdminAuth } from '../cds/auth/model-admin-auth.ts';
import { OperationOutcomeError, unauthenticated } from '../common/outcomes.ts';

/** The header that names the demo model administrator (sandbox only; production never reads it). */
export const DEMO_ADMIN_HEADER = 'X-Demo-Admin';

/** The one demo administrator: the hospital's IT staff who promote what the ML team registered. */
export const DEMO_ADMIN = 'it-admin';

/** The sandbox's model administration: `X-Demo-Admin: it-admin` names the actor; anything else is 401. */
export function demoModelAdminAuth(): ModelAdminAuth {
  return {
    authentication: 'demo',
    async admin(req: Request) {
      if (req.get(DEMO_ADMIN_HEADER) !== DEMO_ADMIN) {
        return Promise.reject(new OperationOutcomeError(unauthenticated(`name the demo model administrator in ${DEMO_ADMIN_HEADER}: ${DEMO_ADMIN}`)));
      }
      return Promise.resolve(DEMO_ADMIN);
    },
  };
}
