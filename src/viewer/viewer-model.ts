import type { Media } from 'fhir/r4';
import type { PatternStatus } from '../model/findings.ts';
import type { TriageReport } from '../report/triage-report.ts';
import type { RiskStatement } from '../rules/risk-statement.ts';

/** The words every viewer page shows, in its header and beside the result. */
export const VIEWER_DISCLAIMER = 'Decision support, not a diagnosis';

/** One heatmap overlay: a transparent PNG drawn over the image stretched to width x height. */
export interface ViewerOverlay {
  /** `bcc` or a pattern id. */
  readonly output: string;
  readonly title: string;
  /** `data:image/png;base64,...`. */
  readonly png: string;
  readonly width: number;
  readonly height: number;
  /** The overlay in words (src/explain/heatmap-description.ts): its text alternative. */
  readonly description?: string;
}

/**
 * The risk as the viewer draws it (an icon array: `frequency` of `denominator` icons filled) and
 * says it (`text`): the server's risk statement (src/rules/risk-statement.ts), never recomputed in
 * the browser.
 */
export type ViewerRisk = Pick<RiskStatement, 'denominator' | 'frequency' | 'interval' | 'baseRate' | 'population' | 'text'>;

/** The risk statement's figures the viewer needs, without the validation counts. */
export function toViewerRisk(r: RiskStatement): ViewerRisk {
  return {
    denominator: r.denominator,
    frequency: r.frequency,
    ...(r.interval ? { interval: r.interval } : {}),
    baseRate: r.baseRate,
    population: r.population,
    text: r.text,
  };
}

export interface ViewerPattern {
  readonly id: string;
  readonly display: string;
  readonly status: PatternStatus;
  /** Absent when not assessed: an untrained head's number means nothing. */
  readonly probability?: number;
  readonly threshold?: number;
}

export interface ViewerImage {
  readonly index: number;
  /** The referral image as the FHIR server knows it: `Media/<id>` (the page reads it from /fhir). */
  readonly source: string;
  readonly label: string;
  readonly ok: boolean;
  /** Why the image could not be read (ok false). */
  readonly reason?: string;
  /** True when the image gate refused a readable image (not dermoscopic, blurred...): `reason` says why. */
  readonly notAssessed?: boolean;
  /** This image set the referral's priority. */
  readonly deciding?: boolean;
  readonly categoryDisplay?: string;
  readonly bccProbability?: number;
  readonly networkVerdict?: 'bcc' | 'not-bcc';
  readonly rule?: string;
  /** The rule trace, one sentence a line. */
  readonly trace: readonly string[];
  readonly patterns: readonly ViewerPattern[];
  readonly overlays: readonly ViewerOverlay[];
}

/** What /viewer/<id> renders, whether the report is only in memory or saved in the FHIR server. */
export interface ViewerModel {
  readonly reportId: string;
  /** `memory`: as the hook answered (not necessarily saved); `fhir`: read back from the FHIR server. */
  readonly origin: 'memory' | 'fhir';
  readonly status: string;
  readonly category?: string;
  readonly categoryDisplay: string;
  readonly bccProbability?: number;
  /** The deciding image's probability as a natural frequency in validation; absent without riskBands. */
  readonly risk?: ViewerRisk;
  readonly conclusion: string;
  readonly issued?: string;
  readonly referral?: string;
  readonly patient?: string;
  readonly model: { readonly name: string; readonly version: string; readonly modelCardPath: string };
  readonly rules?: { readonly id: string; readonly version: string };
  readonly disclaimer: string;
  readonly images: readonly ViewerImage[];
}

export function pngDataUrl(media: Media): string | undefined {
  const data = media.content.data;
  return data && media.content.contentType === 'image/png' ? `data:image/png;base64,${data}` : undefined;
}

/** The in-memory report, exactly as the hook built it (failed images and not-assessed patterns included). */
export function viewerModelFromReport(report: TriageReport): ViewerModel {
  const r = report.resources.report;
  const mediaByFullUrl = new Map<string, Media>(report.resources.media.map((m) => [`urn:uuid:${m.id ?? ''}`, m]));
  const images = report.imageSummaries.map((s): ViewerImage => {
    const source = s.source.reference ?? s.source.display ?? '';
    if (!s.ok) {
      const gate = s.kind === 'rejected' ? { reason: s.gateReasons.join(' '), notAssessed: true } : { reason: s.reason };
      return { index: s.index, source, label: s.label, ok: false, ...gate, trace: [], patterns: [], overlays: [] };
    }
    const overlays = s.heatmaps.flatMap((h): ViewerOverlay[] => {
      const media = mediaByFullUrl.get(h.fullUrl);
      const png = media ? pngDataUrl(media) : undefined;
      return media && png
        ? [{ output: h.output, title: media.content.title ?? h.display, png, width: media.width ?? 0, height: media.height ?? 0, ...(h.description ? { description: h.description } : {}) }]
        : [];
    });
    return {
      index: s.index,
      source,
      label: s.label,
      ok: true,
      deciding: s.index === report.decidingImage.index,
      categoryDisplay: s.categoryDisplay,
      bccProbability: s.bccProbability,
      networkVerdict: s.networkVerdict,
      rule: s.rule,
      trace: s.trace,
      patterns: s.patterns.map((p) => ({
        id: p.id,
        display: p.display,
        status: p.status,
        ...(p.probability !== undefined ? { probability: p.probability } : {}),
        ...(p.threshold !== undefined ? { threshold: p.threshold } : {}),
      })),
      overlays,
    };
  });
  return {
    reportId: r.id ?? '',
    origin: 'memory',
    status: r.status,
    category: report.category,
    categoryDisplay: report.categoryDisplay,
    bccProbability: report.bccProbability,
    ...(report.risk ? { risk: toViewerRisk(report.risk) } : {}),
    conclusion: report.conclusion,
    ...(r.issued ? { issued: r.issued } : {}),
    ...(r.basedOn?.[0]?.reference ? { referral: r.basedOn[0].reference } : {}),
    ...(r.subject?.reference ? { patient: r.subject.reference } : {}),
    model: { name: report.model.name, version: report.model.version, modelCardPath: '/model-card' },
    rules: report.rules,
    disclaimer: VIEWER_DISCLAIMER,
    images,
  };
}
