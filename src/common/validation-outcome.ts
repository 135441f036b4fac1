import type { z } from 'zod';
import { OperationOutcomeError, manyIssues } from './outcomes.ts';

/**
 * Parses with a zod schema; failures become one OperationOutcome (400) with an issue per element,
 * each naming the element's path (prefixed by `source` when given) so integrators can find it.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, json: unknown, source?: string): T {
  const r = schema.safeParse(json);
  if (r.success) {
    return r.data;
  }
  const problems = r.error.issues.map((i) => {
    const path = [...(source ? [source] : []), ...i.path.map(String)];
    return { text: i.message, expression: path.length ? path.join('.') : '(request body)' };
  });
  throw new OperationOutcomeError(manyIssues('invalid', problems));
}
