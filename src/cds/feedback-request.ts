import { z } from 'zod';
import type { FeedbackRecord } from '../feedback/feedback-store.ts';
import { FEEDBACK_OUTCOMES } from '../feedback/feedback-store.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';

/** CDS Hooks 2.0 feedback body (https://cds-hooks.hl7.org/2.0/#feedback). */
const feedbackBody = z.object({
  feedback: z
    .array(
      z.object({
        card: z.string().min(1),
        outcome: z.enum(FEEDBACK_OUTCOMES),
        acceptedSuggestions: z.array(z.object({ id: z.string().min(1) })).optional(),
        overrideReason: z
          .object({
            reason: z.object({ code: z.string().min(1), system: z.string().optional(), display: z.string().optional() }).optional(),
            userComment: z.string().max(2000).optional(),
          })
          .optional(),
        outcomeTimestamp: z.string().min(1),
      }),
    )
    .min(1)
    .max(100),
});

export function parseFeedback(serviceId: string, body: unknown): FeedbackRecord[] {
  const data = parseOrThrow(feedbackBody, body);
  return data.feedback.map((f) => ({
    serviceId,
    card: f.card,
    outcome: f.outcome,
    acceptedSuggestions: (f.acceptedSuggestions ?? []).map((s) => s.id),
    ...(f.overrideReason?.reason?.code ? { overrideReasonCode: f.overrideReason.reason.code } : {}),
    ...(f.overrideReason?.reason?.system ? { overrideReasonSystem: f.overrideReason.reason.system } : {}),
    ...(f.overrideReason?.userComment ? { overrideComment: f.overrideReason.userComment } : {}),
    outcomeTimestamp: f.outcomeTimestamp,
  }));
}
