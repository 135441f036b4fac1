/** Row <-> record mapping shared by both store implementations, so they cannot disagree. */
import type { FeedbackRecord, IssuedCard, StoredFeedback } from '../feedback/feedback-store.ts';

/** The SELECT list that toStored reads: a feedback row joined with its issued card. */
export const FEEDBACK_WITH_CARD = `f.*, c.uuid AS c_uuid, c.service_id AS c_service, c.hook_instance, c.referral, c.category, c.bcc_probability, c.model_version, c.issued_at`;
export const CARD_COLUMNS = `c.uuid AS c_uuid, c.service_id AS c_service, c.hook_instance, c.referral, c.category, c.bcc_probability, c.model_version, c.issued_at`;

/** Parameters of one feedback row, in column order (service_id ... received_at). */
export function feedbackParams(f: FeedbackRecord, receivedAt: string): (string | null)[] {
  return [
    f.serviceId,
    f.card,
    f.outcome,
    JSON.stringify(f.acceptedSuggestions),
    f.overrideReasonCode ?? null,
    f.overrideReasonSystem ?? null,
    f.overrideComment ?? null,
    f.outcomeTimestamp,
    receivedAt,
  ];
}

/** Parameters of one issued_card row, in column order. */
export function cardParams(c: IssuedCard): (string | number | null)[] {
  return [c.uuid, c.serviceId, c.hookInstance, c.referral, c.category, c.bccProbability, c.modelVersion, c.issuedAt];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The issued card of a joined row (columns c_uuid, c_service, ...), when there is one. */
export function toIssued(r: Record<string, unknown>): IssuedCard | undefined {
  const p = r.bcc_probability;
  return str(r.c_uuid)
    ? {
        uuid: String(r.c_uuid),
        serviceId: String(r.c_service),
        hookInstance: String(r.hook_instance),
        referral: String(r.referral),
        category: String(r.category),
        bccProbability: typeof p === 'number' ? p : null,
        modelVersion: String(r.model_version),
        issuedAt: String(r.issued_at),
      }
    : undefined;
}

export function toStored(r: Record<string, unknown>): StoredFeedback {
  const issued = toIssued(r);
  const acceptedSuggestions: unknown = JSON.parse(typeof r.accepted_suggestions === 'string' ? r.accepted_suggestions : '[]');
  return {
    // PostgreSQL returns BIGSERIAL as a string.
    id: Number(r.id),
    serviceId: String(r.service_id),
    card: String(r.card),
    outcome: r.outcome === 'overridden' ? 'overridden' : 'accepted',
    acceptedSuggestions: Array.isArray(acceptedSuggestions) ? acceptedSuggestions.map(String) : [],
    ...(str(r.override_code) ? { overrideReasonCode: str(r.override_code) } : {}),
    ...(str(r.override_system) ? { overrideReasonSystem: str(r.override_system) } : {}),
    ...(str(r.override_comment) ? { overrideComment: str(r.override_comment) } : {}),
    outcomeTimestamp: String(r.outcome_timestamp),
    receivedAt: String(r.received_at),
    ...(issued ? { issued } : {}),
  };
}
