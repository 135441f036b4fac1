import type { ServiceRequest } from 'fhir/r4';
import type { Terminology } from '../report/terminology.ts';
import type { TriageReport } from '../report/triage-report.ts';
import type { TriageCategory } from '../rules/rule-set.ts';
import type { RiskStatement } from '../rules/risk-statement.ts';
import type { Card, CardLink, CardSource, CdsCoding, Indicator, Suggestion } from './card.ts';
import { SUMMARY_MAX_CHARS } from './card.ts';
import { writeCardDetail } from './card-detail.ts';
import { markUrgentSuggestion, saveReportSuggestion } from './suggestions.ts';
import { formatViewerAppContext } from '../viewer/viewer-app-context.ts';

export interface CardOptions {
  /** Card source label, e.g. "BCC-CDS dermoscopy triage (research)". */
  readonly serviceLabel: string;
  /** The model card; card.source.url. */
  readonly modelCardUrl: string;
  readonly newUuid: () => string;
  /** codes.json: topic and override reasons. */
  readonly terminology: Pick<Terminology, 'cards'>;
  /**
   * The installed model, named in the status cards' detail (a triage card names it from its
   * report): every card says which model version answered, including "not assessed" ones.
   */
  readonly model?: { readonly name: string; readonly version: string };
}

export interface ToCardOptions extends CardOptions {
  readonly referral: ServiceRequest;
  /** Defaults to the report's viewerUrl: an `absolute` link (the sandbox's viewer page, or one configured). */
  readonly viewerUrl?: string;
  /**
   * The viewer's SMART launch URL (`<publicBaseUrl>/viewer/launch`): a `smart` link whose
   * `appContext` names the report, which the EHR launches with `iss` and `launch`.
   */
  readonly viewerLaunchUrl?: string;
  /** The EHR takes the report as systemActions (`toSystemActions`): no save suggestion on the card. */
  readonly systemActions?: boolean;
}

/** Card urgency follows the queue priority; every category maps, the compiler checks. */
export const INDICATOR_BY_CATEGORY: Readonly<Record<TriageCategory, Indicator>> = {
  high: 'critical',
  moderate: 'warning',
  indeterminate: 'warning',
  low: 'info',
};

/** A terminology entry as a CDS Hooks Coding (display always set: override reasons require it). */
function toCdsCoding(c: { readonly system: string; readonly code: string; readonly display: string }): CdsCoding {
  return { system: c.system, code: c.code, display: c.display };
}

export function cardSource(opts: CardOptions): CardSource {
  return { label: opts.serviceLabel, url: opts.modelCardUrl, topic: toCdsCoding(opts.terminology.cards.topic) };
}

/**
 * Fits the spec's <140 characters by shortening the category wording, never the number. With the
 * model's risk bands the number is a natural frequency beside the base rate ("24 in 100 scored
 * like this were BCC (7 in 100 overall)"); without them, the calibrated probability.
 */
export function writeSummary(categoryDisplay: string, probability: number, risk?: Pick<RiskStatement, 'short'>): string {
  const head = 'BCC triage: ';
  const tail = `${risk ? ` — ${risk.short}` : ` (p=${probability.toFixed(2)})`} — decision support`;
  const room = SUMMARY_MAX_CHARS - Array.from(head).length - Array.from(tail).length;
  const chars = Array.from(categoryDisplay);
  const display = chars.length <= room ? categoryDisplay : `${chars.slice(0, Math.max(0, room - 1)).join('')}…`;
  return `${head}${display}${tail}`;
}

/** The referral's triage as one CDS Hooks 2.0 card, with suggestions to file the report and, for high, to mark the referral urgent. */
export function toCard(report: TriageReport, opts: ToCardOptions): Card {
  const suggestions: Suggestion[] = [];
  if (!opts.systemActions) {
    suggestions.push(saveReportSuggestion(report, opts.newUuid()));
  }
  const urgent = markUrgentSuggestion(report, opts.referral, opts.newUuid());
  if (urgent) {
    suggestions.push(urgent);
  }
  const viewerUrl = opts.viewerUrl ?? report.viewerUrl;
  const links: CardLink[] = [];
  if (opts.viewerLaunchUrl) {
    links.push(viewerSmartLink(opts.viewerLaunchUrl, report.resources.report.id ?? ''));
  }
  if (viewerUrl) {
    links.push({ label: 'Open the images and heatmaps in the BCC triage viewer', url: viewerUrl, type: 'absolute' });
  }
  return {
    uuid: opts.newUuid(),
    summary: writeSummary(report.categoryDisplay, report.bccProbability, report.risk),
    detail: writeCardDetail(report, { modelCardUrl: opts.modelCardUrl, ...(opts.systemActions ? { systemActions: true } : {}) }),
    indicator: INDICATOR_BY_CATEGORY[report.category],
    source: cardSource(opts),
    ...(suggestions.length ? { suggestions, selectionBehavior: 'any' as const } : {}),
    overrideReasons: opts.terminology.cards.overrideReasons.map(toCdsCoding),
    ...(links.length ? { links } : {}),
  };
}

/** The label of the card's SMART link (the sandbox page and the tests find it by it). */
export const VIEWER_SMART_LINK_LABEL = 'Review the images and heatmaps, and annotate patterns (BCC triage viewer)';

/**
 * CDS Hooks 2.0 Link of type `smart`: the EHR launches `url` with `iss` and `launch` and returns
 * `appContext` in the token response. The report id is the DiagnosticReport's id, which the save
 * suggestion keeps (`PUT DiagnosticReport/<id>`), so the viewer reads it back from the EHR.
 */
export function viewerSmartLink(launchUrl: string, reportId: string): CardLink {
  return { label: VIEWER_SMART_LINK_LABEL, url: launchUrl, type: 'smart', appContext: formatViewerAppContext(reportId) };
}
