import type { TriageReport } from '../report/triage-report.ts';
import { TRIAGE_CATEGORIES } from '../rules/rule-set.ts';
import type { TriageCategory } from '../rules/rule-set.ts';
import type { ViewerModel } from './viewer-model.ts';
import { viewerModelFromReport } from './viewer-model.ts';

/** One referral in the dermatologist's queue: its latest triage. */
export interface QueueEntry {
  readonly reportId: string;
  /** `ServiceRequest/<id>`; empty when the referral has no id (basedOn by identifier, or none). */
  readonly referral: string;
  readonly patient: string;
  readonly category: TriageCategory;
  readonly categoryDisplay: string;
  readonly bccProbability: number;
  /** When the report was issued (ISO 8601). */
  readonly issued: string;
  readonly imageCount: number;
  readonly modelVersion: string;
  /** `/viewer/<report id>`: the page that shows it (relative, so any host name works). */
  readonly viewerPath: string;
}

export interface ReportStore {
  /** Keeps the report; it replaces the referral's earlier report in the queue. */
  add(report: TriageReport): Promise<void>;
  /** `try*`: the report as the viewer shows it; undefined when unknown or evicted. */
  tryGet(reportId: string): Promise<ViewerModel | undefined>;
  /** The latest report per referral, most urgent first. */
  queue(): Promise<QueueEntry[]>;
}

/** A hook's result as the viewer link shows it, and its row in the triage queue. */
export interface StoredReport {
  readonly reportId: string;
  /** The queue key (queueKey, below): the queue shows the latest report per key. */
  readonly referral: string;
  readonly entry: QueueEntry;
  readonly viewer: ViewerModel;
}

/** Where results are kept, across replicas (a port: src/storage implements it). */
export interface ReportRecords {
  /** Keeps the report; beyond `capacity` reports the oldest go. */
  putReport(report: StoredReport, capacity: number): Promise<void>;
  /** `try*`: undefined when unknown or evicted. */
  tryGetReport(reportId: string): Promise<StoredReport | undefined>;
  /** The queue entry of the latest report per referral, in no particular order. */
  latestReportPerReferral(): Promise<QueueEntry[]>;
}

export interface ReportStoreOptions {
  /** Reports kept by id; the oldest go first. Default 200. */
  readonly capacity?: number;
}

function rank(c: TriageCategory): number {
  return TRIAGE_CATEGORIES.indexOf(c);
}

/**
 * Queue order: category (high, moderate, low, as TRIAGE_CATEGORIES lists them), then the BCC
 * probability, higher first, then first come, first served.
 */
export function compareQueueEntries(a: QueueEntry, b: QueueEntry): number {
  return rank(a.category) - rank(b.category) || b.bccProbability - a.bccProbability || a.issued.localeCompare(b.issued);
}

/**
 * Which queue entry a report belongs to: its referral's `ServiceRequest/<id>`; for a draft referral
 * without an id (src/report/referral-reference.ts), its identifier as `system|value`; with neither,
 * the report's own id, so reports on different id-less referrals never replace one another. The
 * three cannot collide: only the identifier form has `|`, and a report id has neither `|` nor `/`.
 */
export function queueKey(report: TriageReport): string {
  const r = report.resources.report;
  const basedOn = r.basedOn?.[0];
  if (basedOn?.reference) {
    return basedOn.reference;
  }
  const identifier = basedOn?.identifier;
  if (identifier?.system && identifier.value) {
    return `${identifier.system}|${identifier.value}`;
  }
  return r.id ?? '';
}

export function toQueueEntry(report: TriageReport): QueueEntry {
  const r = report.resources.report;
  const id = r.id ?? '';
  return {
    reportId: id,
    referral: r.basedOn?.[0]?.reference ?? '',
    patient: r.subject?.reference ?? '',
    category: report.category,
    categoryDisplay: report.categoryDisplay,
    bccProbability: report.bccProbability,
    issued: r.issued ?? '',
    imageCount: report.imageSummaries.length,
    modelVersion: `${report.model.name} ${report.model.version}`,
    viewerPath: `/viewer/${encodeURIComponent(id)}`,
  };
}

/**
 * What the hook answered, behind the cards' viewer links, the queue and the annotation API: fed by
 * createService with every finished report, in both modes. Kept in the shared store (as the viewer
 * model, plain JSON), so a viewer link works on whichever replica the browser reaches.
 */
export function createReportStore(records: ReportRecords, opts: ReportStoreOptions = {}): ReportStore {
  const capacity = opts.capacity ?? 200;
  return {
    async add(report: TriageReport): Promise<void> {
      const entry = toQueueEntry(report);
      await records.putReport({ reportId: entry.reportId, referral: queueKey(report), entry, viewer: viewerModelFromReport(report) }, capacity);
    },
    async tryGet(reportId: string): Promise<ViewerModel | undefined> {
      return (await records.tryGetReport(reportId))?.viewer;
    },
    async queue(): Promise<QueueEntry[]> {
      return (await records.latestReportPerReferral()).sort(compareQueueEntries);
    },
  };
}
