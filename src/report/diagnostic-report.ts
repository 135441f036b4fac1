import type { CodeableConcept, DiagnosticReport, DiagnosticReportMedia, Reference } from 'fhir/r4';
import type { TriageCategory } from '../rules/rule-set.ts';
import type { BuildContext } from './build-context.ts';
import { aiAssertedMeta, basedOnReferral } from './build-context.ts';
import type { AllocatedId } from './ids.ts';
import { toCoding } from './terminology.ts';

export interface ReportParts {
  readonly category: TriageCategory;
  readonly categoryDisplay: string;
  readonly conclusion: string;
  /** fullUrls of the Observations, in image order. */
  readonly results: readonly string[];
  readonly media: readonly DiagnosticReportMedia[];
  readonly viewerUrl?: string;
}

/**
 * The triage category is always coded (our CodeSystem). SNOMED CT "Basal cell carcinoma of skin"
 * is added only for `high`, the one category that raises BCC as the question for the reviewer; its
 * text keeps the reader from taking the code for a diagnosis, and never says "likely": a high
 * priority starts at a calibrated probability near 0.27 (docs/risk-communication.md).
 */
function conclusionCodes(ctx: BuildContext, category: TriageCategory, display: string): CodeableConcept[] {
  const t = ctx.terminology;
  const triage: CodeableConcept = { coding: [{ system: t.codeSystems.triageCategory.url, code: category, display }], text: display };
  if (category !== 'high') {
    return [triage];
  }
  return [triage, { coding: [toCoding(t.report.bccLikelyConclusion)], text: `BCC suspected on AI triage, ${display} (not a histological diagnosis)` }];
}

/**
 * The report a dermatologist opens. `preliminary`: nobody has reviewed it yet. No performer: R4
 * DiagnosticReport.performer cannot reference a Device; the model is named in Provenance.agent
 * and Observation.device instead (as the AI Transparency IG's examples do).
 */
export function buildDiagnosticReport(ctx: BuildContext, parts: ReportParts, ids: AllocatedId): DiagnosticReport {
  const t = ctx.terminology;
  const result: Reference[] = parts.results.map((reference) => ({ reference }));
  return {
    resourceType: 'DiagnosticReport',
    id: ids.id,
    meta: aiAssertedMeta(ctx, t.profiles.triageReport),
    ...basedOnReferral(ctx),
    status: 'preliminary',
    category: [{ coding: [toCoding(t.report.category)] }],
    code: { coding: [toCoding(t.report.code)], text: t.report.text },
    subject: ctx.patient,
    effectiveDateTime: ctx.now,
    issued: ctx.now,
    result,
    media: [...parts.media],
    conclusion: parts.conclusion,
    conclusionCode: conclusionCodes(ctx, parts.category, parts.categoryDisplay),
    ...(parts.viewerUrl ? { presentedForm: [{ contentType: 'text/html', url: parts.viewerUrl, title: 'BCC triage viewer (images and heatmaps)' }] } : {}),
  };
}
