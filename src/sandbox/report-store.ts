import type { TriageReport } from '../report/triage-report.ts';
import { TRIAGE_CATEGORIES } from '../rules/rule-set.ts';
import type { TriageCategory } from '../rules/rule-set.ts';

/** One referral in the dermatologist's queue: its latest triage. */
export interface QueueEntry {
  readonly reportId: string;
  /** `ServiceRequest/<id>`. */
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
  add(report: TriageReport): void;
  /** `try*`: undefined when unknown or evicted. */
  tryGet(reportId: string): TriageReport | undefined;
  /** The latest report per referral, most urgent first. */
  queue(): QueueEntry[];
}

export interface ReportStoreOptions {
  /** Reports kept by id; the oldest go first (the sandbox lives in memory). Default 200. */
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

/** The sandbox's memory of what the hook answered: fed by createService's onReport, read by the queue and the viewer. */
export function createReportStore(opts: ReportStoreOptions = {}): ReportStore {
  const capacity = opts.capacity ?? 200;
  const reports = new Map<string, TriageReport>();
  const latestByReferral = new Map<string, QueueEntry>();

  return {
    add(report: TriageReport): void {
      const entry = toQueueEntry(report);
      reports.set(entry.reportId, report);
      latestByReferral.set(entry.referral, entry);
      for (const [id] of reports) {
        if (reports.size <= capacity) {
          break;
        }
        reports.delete(id);
      }
      for (const [referral, e] of latestByReferral) {
        if (!reports.has(e.reportId)) {
          latestByReferral.delete(referral);
        }
      }
    },
    tryGet(reportId: string): TriageReport | undefined {
      return reports.get(reportId);
    },
    queue(): QueueEntry[] {
      return [...latestByReferral.values()].sort(compareQueueEntries);
    },
  };
}
