import { z } from 'zod';
import type { FeedbackRecord } from '../feedback/feedback-store.ts';
import { FEEDBACK_OUTCOMES } from '../feedback/feedback-store.ts';
import { parseOrThrow } from '../common/validation-outcome.ts';

/**
 * CDS Hooks 2.0 feedback body ({@link https://cds-hooks.hl7.org/2.0/#feedback}), the same rules as
 * `#/$defs/FeedbackRequest` in cds-hooks/schemas/cds-hooks-2.0.schema.json (a test holds the two
 * together). Attributes the spec does not define are ignored, not refused. Beyond the spec, the
 * service caps a body at 100 entries and a comment at 2000 characters.
 */

const text = z.string().min(1, 'must not be empty (CDS Hooks 2.0: omit an attribute that has no value)');

/** RFC 3339 section 5.6 date-time in UTC, as the spec asks ("e.g. 1985-04-12T23:20:50.52Z"). */
const UTC_DATE_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|\+00:00)$/;

/** {@link https://cds-hooks.hl7.org/2.0/#coding}: code and system required. */
const coding = z.object({ code: text, system: text, display: text.optional() });

const feedbackItem = z
  .object({
    card: text,
    outcome: z.enum(FEEDBACK_OUTCOMES),
    acceptedSuggestions: z.array(z.object({ id: text })).min(1, 'must name at least one suggestion').optional(),
    overrideReason: z
      .object({ reason: coding.optional(), userComment: text.max(2000).optional() })
      .refine((o) => o.reason !== undefined || o.userComment !== undefined, 'must hold a reason or a userComment (CDS Hooks 2.0: not an empty object)')
      .optional(),
    outcomeTimestamp: z.string().regex(UTC_DATE_TIME, 'must be an RFC 3339 date-time in UTC, e.g. 2026-12-02T10:00:00Z'),
  })
  .superRefine((f, ctx) => {
    // "acceptedSuggestions: CONDITIONAL ... Required for accepted outcomes."
    if (f.outcome === 'accepted' && !f.acceptedSuggestions) {
      ctx.addIssue({ code: 'custom', path: ['acceptedSuggestions'], message: 'is required for an accepted outcome (the card.suggestions[].uuid the user accepted)' });
    }
  });

const feedbackBody = z.object({ feedback: z.array(feedbackItem).min(1).max(100) });

export function parseFeedback(serviceId: string, body: unknown): FeedbackRecord[] {
  const data = parseOrThrow(feedbackBody, body);
  return data.feedback.map((f) => ({
    serviceId,
    card: f.card,
    outcome: f.outcome,
    acceptedSuggestions: (f.acceptedSuggestions ?? []).map((s) => s.id),
    ...(f.overrideReason?.reason ? { overrideReasonCode: f.overrideReason.reason.code, overrideReasonSystem: f.overrideReason.reason.system } : {}),
    ...(f.overrideReason?.userComment ? { overrideComment: f.overrideReason.userComment } : {}),
    outcomeTimestamp: f.outcomeTimestamp,
  }));
}
