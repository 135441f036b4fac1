import { OperationOutcomeError, badGateway } from '../common/outcomes.ts';
import { isRecord } from '../common/is-record.ts';

/**
 * What a card's `smart` link hands the launched viewer. CDS Hooks 2.0 (Link.appContext): "an
 * optional field that allows the CDS Service to share information from the CDS card with a
 * subsequently launched SMART app"; the EHR returns it unchanged in the token response
 * (SMART App Launch 2, `appContext`). Any string will do, so long as the app recognises it: ours is
 * a small JSON object.
 * {@link https://cds-hooks.hl7.org/2.0/#link}
 */
export interface ViewerAppContext {
  /** The triage report id (the viewer's and the annotation API's key). */
  readonly reportId: string;
  /**
   * The DiagnosticReport the card's save suggestion (or systemActions) creates: it keeps the
   * report id (`Type/<id>` references, see src/cards/client-references.ts).
   */
  readonly diagnosticReport: string;
}

const REPORT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function formatViewerAppContext(reportId: string): string {
  const context: ViewerAppContext = { reportId, diagnosticReport: `DiagnosticReport/${reportId}` };
  return JSON.stringify(context);
}

/**
 * The report named by a token response's `appContext`; a 502 OperationOutcome when the EHR sent
 * none or something this viewer did not put on a card.
 */
export function parseViewerAppContext(appContext: string | undefined): ViewerAppContext {
  let json: unknown;
  try {
    json = appContext === undefined ? undefined : JSON.parse(appContext);
  } catch {
    json = undefined;
  }
  const reportId = isRecord(json) ? json.reportId : undefined;
  const reference = isRecord(json) ? json.diagnosticReport : undefined;
  const fromReference = typeof reference === 'string' ? /^DiagnosticReport\/([A-Za-z0-9\-.]{1,64})$/.exec(reference)?.[1] : undefined;
  const id = fromReference ?? (typeof reportId === 'string' ? reportId : undefined);
  if (id === undefined || !REPORT_ID.test(id) || typeof reportId !== 'string' || !REPORT_ID.test(reportId)) {
    throw new OperationOutcomeError(badGateway('the token response carries no appContext naming a triage report (launch the viewer from a BCC-CDS card)', 'appContext'));
  }
  return { reportId, diagnosticReport: `DiagnosticReport/${id}` };
}
