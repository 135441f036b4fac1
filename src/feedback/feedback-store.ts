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
 * and the ML team can join them to model versions. A port: src/storage implements it (SQLite for
 * one process, PostgreSQL for replicas).
 */
export interface FeedbackStore {
  /** Cards as issued (the same uuid again replaces the row). */
  recordCards(cards: readonly IssuedCard[]): Promise<void>;
  /** All items or none; resolves to how many were stored. */
  recordFeedback(items: readonly FeedbackRecord[], receivedAt: string): Promise<number>;
  /** Newest first. */
  listFeedback(limit?: number): Promise<StoredFeedback[]>;
  countByOutcome(): Promise<Record<FeedbackOutcome, number>>;
  /** The model version of each issued card named (cards this service never issued are left out): card outcomes by version in /metrics. */
  cardModelVersions(cards: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /**
   * Everything for a review export: every feedback row (oldest first) joined with its issued card,
   * and the issued cards nobody has given feedback on yet.
   */
  listCardOutcomes(): Promise<CardOutcomes>;
}
