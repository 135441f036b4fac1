import type { SharedStore } from '../storage/shared-store.ts';

/** CDS Hooks 2.0 feedback outcomes (https://cds-hooks.hl7.org/2.0/#feedback). */
export const FEEDBACK_OUTCOMES = ['accepted', 'overridden'] as const;
export type FeedbackOutcome = (typeof FEEDBACK_OUTCOMES)[number];

export interface IssuedCard {
  readonly uuid: string;
  readonly serviceId: string;
  readonly hookInstance: string;
  readonly referral: string;
  readonly category: string;
  readonly bccProbability: number | null;
  readonly modelVersion: string;
  readonly issuedAt: string;
}

export interface FeedbackRecord {
  readonly serviceId: string;
  readonly card: string;
  readonly outcome: FeedbackOutcome;
  readonly acceptedSuggestions: readonly string[];
  readonly overrideReasonCode?: string;
  readonly overrideReasonSystem?: string;
  readonly overrideComment?: string;
  readonly outcomeTimestamp: string;
}

export interface StoredFeedback extends FeedbackRecord {
  readonly id: number;
  readonly receivedAt: string;
  /** The card as issued, when this service issued it. */
  readonly issued?: IssuedCard;
}

export interface CardOutcomes {
  readonly feedback: readonly StoredFeedback[];
  readonly unanswered: readonly IssuedCard[];
}

/**
 * Issued cards and clinicians' feedback, durable so accepted and overridden cards survive restarts
 * and the ML team can join them to model versions: the feedback part of the shared store (SQLite
 * for one process, PostgreSQL for replicas; src/storage).
 */
export type FeedbackStore = Pick<SharedStore, 'recordCards' | 'recordFeedback' | 'listFeedback' | 'countByOutcome' | 'listCardOutcomes'>;
