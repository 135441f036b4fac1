import type { FhirResource, ServiceRequest } from 'fhir/r4';
import { reportResources } from '../report/transaction-bundle.ts';
import type { TriageReport } from '../report/triage-report.ts';
import type { CardAction, Suggestion, SystemAction } from './card.ts';
import { toClientReferences } from './client-references.ts';

function describeCreate(r: FhirResource): string {
  switch (r.resourceType) {
    case 'Device':
      return `Record the AI model ${r.deviceName?.[0]?.name ?? ''} ${r.version?.[0]?.value ?? ''} (Device)`.replace(/\s+/g, ' ');
    case 'Media':
      return `Save "${r.content.title ?? 'heatmap'}" (Media)`;
    case 'Observation':
      return `Save AI observation: ${r.code.text ?? r.code.coding?.[0]?.display ?? 'finding'} (Observation, preliminary)`;
    case 'DiagnosticReport':
      return 'Save the preliminary AI triage report (DiagnosticReport)';
    case 'Provenance':
      return 'Record that the AI model produced these results (Provenance)';
    case 'DocumentReference':
      return `Record the model card of ${r.content[0]?.attachment.title?.replace(/^Model card /, '') ?? 'the AI model'} (DocumentReference)`;
    default:
      return `Create ${r.resourceType}`;
  }
}

/** Create actions for every resource of the report, referenced the way the client will store them. */
export function reportCreateActions(report: TriageReport): CardAction[] {
  return reportResources(report).map((r) => ({ type: 'create', description: describeCreate(r), resource: toClientReferences(r, report.fullUrls) }));
}

export function saveReportSuggestion(report: TriageReport, uuid: string): Suggestion {
  return { label: 'Save AI triage report to the chart', uuid, isRecommended: true, actions: reportCreateActions(report) };
}

/** `routine` < `urgent` < `asap` < `stat` (FHIR request-priority). */
const AT_LEAST_URGENT: readonly NonNullable<ServiceRequest['priority']>[] = ['urgent', 'asap', 'stat'];

/**
 * For a high-priority triage only: raise the referral to `urgent`. Never offered when the referral
 * is already urgent or higher (an update to `urgent` would lower `asap`/`stat`), nor without an id.
 * The action carries the whole referral, as CDS Hooks requires for update.
 */
export function markUrgentSuggestion(report: TriageReport, referral: ServiceRequest, uuid: string): Suggestion | undefined {
  if (report.category !== 'high' || !referral.id || (referral.priority && AT_LEAST_URGENT.includes(referral.priority))) {
    return undefined;
  }
  return {
    label: 'Mark referral urgent',
    uuid,
    isRecommended: true,
    actions: [
      {
        type: 'update',
        description: `Set the referral's priority to urgent (now ${referral.priority ?? 'not set'})`,
        resource: { ...referral, priority: 'urgent' },
      },
    ],
  };
}

/**
 * The save actions as CDS Hooks systemActions, for EHRs that agreed to file the AI report without
 * a click (the card then omits the save suggestion: `toCard(..., { systemActions: true })`).
 */
export function toSystemActions(report: TriageReport): SystemAction[] {
  return reportCreateActions(report);
}
