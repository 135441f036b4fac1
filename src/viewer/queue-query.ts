import { OperationOutcomeError, badRequest, manyIssues } from '../common/outcomes.ts';
import type { CardOutcomes, FeedbackOutcome } from '../feedback/feedback-store.ts';
import { TRIAGE_CATEGORIES } from '../rules/rule-set.ts';
import type { TriageCategory } from '../rules/rule-set.ts';
import type { QueueEntry } from './report-store.ts';

/** What was decided on a referral's card, from CDS Hooks feedback: at a glance in the queue. */
export const QUEUE_DECISIONS = ['pending', 'accepted', 'overridden'] as const;
export type QueueDecision = (typeof QUEUE_DECISIONS)[number];

export const QUEUE_SORTS = ['priority', 'newest', 'oldest', 'probability'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

export const QUEUE_MAX_PAGE_SIZE = 100;
export const QUEUE_DEFAULT_PAGE_SIZE = 20;

/** A queue row with its decision: the latest feedback on the card issued with its report. */
export interface DecidedQueueEntry extends QueueEntry {
  readonly decision: QueueDecision;
  /** When the decision was made (the feedback's outcomeTimestamp); absent while pending. */
  readonly decidedAt?: string;
  /** An override's comment, when the clinician gave one. */
  readonly overrideComment?: string;
}

/** GET /sandbox/api/queue's query: filters (any of), the order and the page. */
export interface QueueQuery {
  /** Empty: every category. */
  readonly priority: readonly TriageCategory[];
  /** Empty: every decision. */
  readonly state: readonly QueueDecision[];
  readonly sort: QueueSort;
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
}

export interface QueuePage {
  readonly entries: readonly DecidedQueueEntry[];
  /** Referrals matching the filters, on every page. */
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  /** At least 1 (an empty result is one empty page). */
  readonly pages: number;
  readonly sort: QueueSort;
  readonly priority: readonly TriageCategory[];
  readonly state: readonly QueueDecision[];
}

const KNOWN_PARAMS = ['priority', 'state', 'sort', 'page', 'pageSize'] as const;

/** A query value as Express gives it: a string, repeated (array), or nested (refused). */
function values(raw: unknown, name: string, problems: { text: string; expression: string }[]): string[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v !== 'string') {
      problems.push({ text: `${name} must be a plain value`, expression: name });
      return [];
    }
    out.push(...v.split(',').map((s) => s.trim()).filter(Boolean));
  }
  return out;
}

function oneOf<T extends string>(allowed: readonly T[], v: string): v is T {
  return (allowed as readonly string[]).includes(v);
}

function positiveInt(raw: string | undefined, name: string, fallback: number, max: number, problems: { text: string; expression: string }[]): number {
  if (raw === undefined) {
    return fallback;
  }
  if (!/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) {
    problems.push({ text: `${name} must be a whole number from 1 to ${max}, got "${raw}"`, expression: name });
    return fallback;
  }
  return Number(raw);
}

/**
 * The queue's query parameters, checked: `priority` (triage categories), `state` (pending, accepted,
 * overridden), each repeated or comma-separated; `sort`; `page` (from 1); `pageSize` (1 to 100).
 * Unknown parameters and unknown values are refused (400 OperationOutcome naming each), never
 * ignored: a filter that silently did nothing would show the wrong referrals as "all".
 */
export function parseQueueQuery(query: Readonly<Record<string, unknown>>): QueueQuery {
  const problems: { text: string; expression: string }[] = [];
  for (const name of Object.keys(query)) {
    if (!oneOf(KNOWN_PARAMS, name)) {
      problems.push({ text: `unknown query parameter "${name}" (known: ${KNOWN_PARAMS.join(', ')})`, expression: name });
    }
  }
  const priority = values(query.priority, 'priority', problems);
  const state = values(query.state, 'state', problems);
  const sort = values(query.sort, 'sort', problems);
  const page = values(query.page, 'page', problems);
  const pageSize = values(query.pageSize, 'pageSize', problems);
  for (const p of priority.filter((v) => !oneOf(TRIAGE_CATEGORIES, v))) {
    problems.push({ text: `priority "${p}" is not a triage category (${TRIAGE_CATEGORIES.join(', ')})`, expression: 'priority' });
  }
  for (const s of state.filter((v) => !oneOf(QUEUE_DECISIONS, v))) {
    problems.push({ text: `state "${s}" is not one of ${QUEUE_DECISIONS.join(', ')}`, expression: 'state' });
  }
  for (const [name, list] of [['sort', sort], ['page', page], ['pageSize', pageSize]] as const) {
    if (list.length > 1) {
      problems.push({ text: `${name} takes one value`, expression: name });
    }
  }
  if (sort[0] !== undefined && !oneOf(QUEUE_SORTS, sort[0])) {
    problems.push({ text: `sort "${sort[0]}" is not one of ${QUEUE_SORTS.join(', ')}`, expression: 'sort' });
  }
  const result: QueueQuery = {
    priority: [...new Set(priority.filter((v) => oneOf(TRIAGE_CATEGORIES, v)))],
    state: [...new Set(state.filter((v) => oneOf(QUEUE_DECISIONS, v)))],
    sort: sort[0] !== undefined && oneOf(QUEUE_SORTS, sort[0]) ? sort[0] : 'priority',
    page: positiveInt(page[0], 'page', 1, 100_000, problems),
    pageSize: positiveInt(pageSize[0], 'pageSize', QUEUE_DEFAULT_PAGE_SIZE, QUEUE_MAX_PAGE_SIZE, problems),
  };
  if (problems.length === 1) {
    const [p] = problems;
    throw new OperationOutcomeError(badRequest(p?.text ?? '', p?.expression));
  }
  if (problems.length > 1) {
    throw new OperationOutcomeError(manyIssues('invalid', problems));
  }
  return result;
}

/**
 * Each queue row's decision: the latest feedback (by its outcome timestamp) on the card issued for
 * the same referral at the same moment as the report (the hook stamps both with one clock reading).
 */
export function withDecisions(entries: readonly QueueEntry[], outcomes: Pick<CardOutcomes, 'feedback'>): DecidedQueueEntry[] {
  const latest = new Map<string, { outcome: FeedbackOutcome; at: string; comment?: string }>();
  for (const f of outcomes.feedback) {
    if (!f.issued) {
      continue;
    }
    const key = `${f.issued.referral}\u0000${f.issued.issuedAt}`;
    const seen = latest.get(key);
    if (!seen || seen.at <= f.outcomeTimestamp) {
      latest.set(key, { outcome: f.outcome, at: f.outcomeTimestamp, ...(f.overrideComment ? { comment: f.overrideComment } : {}) });
    }
  }
  return entries.map((e) => {
    const d = latest.get(`${e.referral}\u0000${e.issued}`);
    return d ? { ...e, decision: d.outcome, decidedAt: d.at, ...(d.comment ? { overrideComment: d.comment } : {}) } : { ...e, decision: 'pending' };
  });
}

function byIssued(a: QueueEntry, b: QueueEntry): number {
  return a.issued.localeCompare(b.issued);
}

/**
 * Filters, orders and pages the queue (entries arrive in priority order, report-store.ts
 * compareQueueEntries). A page past the last is an empty page, not an error: the queue may have
 * shrunk since the link was made.
 */
export function pageQueue(entries: readonly DecidedQueueEntry[], q: QueueQuery): QueuePage {
  const matching = entries.filter((e) => (q.priority.length === 0 || q.priority.includes(e.category)) && (q.state.length === 0 || q.state.includes(e.decision)));
  const sorted =
    q.sort === 'newest'
      ? [...matching].sort((a, b) => byIssued(b, a))
      : q.sort === 'oldest'
        ? [...matching].sort(byIssued)
        : q.sort === 'probability'
          ? [...matching].sort((a, b) => b.bccProbability - a.bccProbability || byIssued(a, b))
          : matching;
  const start = (q.page - 1) * q.pageSize;
  return {
    entries: sorted.slice(start, start + q.pageSize),
    total: matching.length,
    page: q.page,
    pageSize: q.pageSize,
    pages: Math.max(1, Math.ceil(matching.length / q.pageSize)),
    sort: q.sort,
    priority: q.priority,
    state: q.state,
  };
}
