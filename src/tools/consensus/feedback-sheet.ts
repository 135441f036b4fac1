/**
 * The review sheet `npm run feedback-export` writes: one row per clinician's feedback on a card
 * (accepted / overridden, reason, comment), joined with what the card said (referral, category,
 * BCC probability, model version), then the four empty annotation columns of the consensus sheet
 * (image, annotator, label, value; src/tools/consensus/annotations.ts).
 *
 * A dermatologist reviews a row, fills in the image they looked at (its path in the hospital's
 * training folder: cards name the referral, not the images), their annotator id, a label (bcc or a
 * pattern id) and 0/1, copying the row for more labels, images or annotators. The filled-in file
 * goes to `npm run consensus -- --annotations` unchanged: the consensus reads those four columns
 * by name and skips rows that leave all four empty.
 */
import type { CardOutcomes, IssuedCard, StoredFeedback } from '../../feedback/feedback-store.ts';
import { ANNOTATION_COLUMNS } from './annotations.ts';
import { formatCsv } from './csv-write.ts';

export const FEEDBACK_SHEET_COLUMNS = [
  'feedback_id',
  'card',
  'service_id',
  'hook_instance',
  'referral',
  'category',
  'bcc_probability',
  'model_version',
  'issued_at',
  'outcome',
  'accepted_suggestions',
  'override_reason_system',
  'override_reason_code',
  'override_comment',
  'outcome_timestamp',
  'received_at',
  ...ANNOTATION_COLUMNS,
] as const;

type SheetRow = Record<(typeof FEEDBACK_SHEET_COLUMNS)[number], string>;

function describeCard(c: IssuedCard | undefined): Pick<SheetRow, 'service_id' | 'hook_instance' | 'referral' | 'category' | 'bcc_probability' | 'model_version' | 'issued_at'> {
  return {
    service_id: c?.serviceId ?? '',
    hook_instance: c?.hookInstance ?? '',
    referral: c?.referral ?? '',
    category: c?.category ?? '',
    bcc_probability: c?.bccProbability === null || c?.bccProbability === undefined ? '' : String(c.bccProbability),
    model_version: c?.modelVersion ?? '',
    issued_at: c?.issuedAt ?? '',
  };
}

const EMPTY_ANNOTATION = { image: '', annotator: '', label: '', value: '' } as const;

function toFeedbackRow(f: StoredFeedback): SheetRow {
  return {
    feedback_id: String(f.id),
    card: f.card,
    ...describeCard(f.issued),
    // A card this service did not issue still names the service the feedback was sent to.
    service_id: f.issued?.serviceId ?? f.serviceId,
    outcome: f.outcome,
    accepted_suggestions: f.acceptedSuggestions.join(' '),
    override_reason_system: f.overrideReasonSystem ?? '',
    override_reason_code: f.overrideReasonCode ?? '',
    override_comment: f.overrideComment ?? '',
    outcome_timestamp: f.outcomeTimestamp,
    received_at: f.receivedAt,
    ...EMPTY_ANNOTATION,
  };
}

function toUnansweredRow(c: IssuedCard): SheetRow {
  return {
    feedback_id: '',
    card: c.uuid,
    ...describeCard(c),
    outcome: '',
    accepted_suggestions: '',
    override_reason_system: '',
    override_reason_code: '',
    override_comment: '',
    outcome_timestamp: '',
    received_at: '',
    ...EMPTY_ANNOTATION,
  };
}

/** Feedback rows oldest first; with `unanswered`, then the cards nobody gave feedback on (outcome empty). */
export function formatFeedbackSheet(outcomes: CardOutcomes, options: { readonly unanswered?: boolean } = {}): string {
  const rows = [...outcomes.feedback.map(toFeedbackRow), ...(options.unanswered ? outcomes.unanswered.map(toUnansweredRow) : [])];
  return formatCsv([[...FEEDBACK_SHEET_COLUMNS], ...rows.map((r) => FEEDBACK_SHEET_COLUMNS.map((c) => r[c]))]);
}
