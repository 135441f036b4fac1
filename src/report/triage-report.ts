import type { CodeableConcept, Device, DiagnosticReport, DocumentReference, Media, Observation, Provenance, Reference, ServiceRequest } from 'fhir/r4';
import type { ImageAnalysis, ImageResult } from '../analysis/analyze-images.ts';
import type { OutputHeatmap } from '../explain/output-heatmaps.ts';
import type { PatternFinding } from '../model/findings.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { CriterionResult } from '../rules/criterion.ts';
import type { RuleSet, TriageCategory } from '../rules/rule-set.ts';
import type { RiskStatement } from '../rules/risk-statement.ts';
import type { Terminology } from './terminology.ts';

/** One image attached to the referral, after analysis. */
export interface ReferralImageOutcome {
  /** The image the service read: `Media/123` or `DocumentReference/9`. */
  readonly source: Reference;
  /** What a clinician calls it ("Left cheek, dermoscopy 1"). */
  readonly label: string;
  readonly bodySite?: CodeableConcept;
  readonly result: ImageResult;
  /** Empty when the image failed. */
  readonly heatmaps: readonly OutputHeatmap[];
}

export interface TriageReportInput {
  /** The referral under triage; the report is `basedOn` it by id, else by identifier, else not at all (referralReference). */
  readonly referral: ServiceRequest;
  readonly patient: Reference;
  readonly images: readonly ReferralImageOutcome[];
  readonly manifest: ModelManifest;
  readonly rules: RuleSet;
  /** codes.json, loaded once at startup (`loadTerminology`). */
  readonly terminology: Terminology;
  readonly now: Date;
  /** Returns a fresh UUID per call: resource ids and `urn:uuid:` fullUrls. */
  readonly newId: () => string;
  /** Result viewer; the report's presentedForm links to `<viewerBaseUrl>/<report id>`. */
  readonly viewerBaseUrl?: string;
}

export interface AnalysedImageSummary {
  readonly ok: true;
  readonly index: number;
  readonly source: Reference;
  readonly label: string;
  readonly category: TriageCategory;
  readonly categoryDisplay: string;
  readonly bccProbability: number;
  /** The probability as a natural frequency in validation (absent when the manifest has no riskBands). */
  readonly risk?: RiskStatement;
  readonly networkVerdict: ImageAnalysis['triage']['networkVerdict'];
  readonly rule: string;
  readonly criterion: CriterionResult;
  readonly trace: readonly string[];
  readonly patterns: readonly PatternFinding[];
  /** What each heatmap explains, with the Media's fullUrl. */
  readonly heatmaps: readonly { readonly output: string; readonly display: string; readonly fullUrl: string; readonly description?: string }[];
  /** fullUrls of this image's Observations (BCC probability first). */
  readonly observations: readonly string[];
  /** Image-gate warnings: scored, but a check flagged something (e.g. the lesion touches the edge). */
  readonly warnings: readonly string[];
}

export interface FailedImageSummary {
  readonly ok: false;
  readonly index: number;
  readonly source: Reference;
  readonly label: string;
  /** `rejected`: readable, but the image gate refused it (not dermoscopic, blurred...); `unreadable`: could not be read. */
  readonly kind: 'unreadable' | 'rejected';
  /** The OperationOutcome, in words. */
  readonly reason: string;
  /** The gate's reasons, each in words, when `kind` is `rejected`. */
  readonly gateReasons: readonly string[];
}

export type ImageSummary = AnalysedImageSummary | FailedImageSummary;

export interface TriageResources {
  readonly report: DiagnosticReport;
  readonly observations: readonly Observation[];
  readonly media: readonly Media[];
  readonly device: Device;
  /** The model card (AI Transparency IG AI-ModelCard) the Device and the Provenance refer to. */
  readonly modelCard: DocumentReference;
  readonly provenance: Provenance;
}

/** The referral's triage and the FHIR resources that record it, ready to apply as one transaction. */
export interface TriageReport {
  readonly category: TriageCategory;
  readonly categoryDisplay: string;
  /** What the priority means, in a sentence (the rule file's `meaning`). */
  readonly categoryMeaning: string;
  /** Of the deciding image. */
  readonly bccProbability: number;
  /** Of the deciding image: its probability as a natural frequency in validation. */
  readonly risk?: RiskStatement;
  readonly decidingImage: AnalysedImageSummary;
  /** In referral order, failed images included. */
  readonly imageSummaries: readonly ImageSummary[];
  readonly resources: TriageResources;
  /** `ResourceType/id` -> `urn:uuid:id` for every created resource. */
  readonly fullUrls: ReadonlyMap<string, string>;
  readonly conclusion: string;
  readonly model: {
    readonly name: string;
    readonly version: string;
    readonly assessablePatterns: readonly string[];
    readonly notAssessedPatterns: readonly string[];
    /** What the model's own gate checks, in words (describeModelGate). */
    readonly gate: string;
    /** The calibration method applied to the BCC probability, if any. */
    readonly calibration?: string;
  };
  readonly rules: { readonly id: string; readonly version: string };
  /** `<viewerBaseUrl>/<report id>` when a viewer was configured. */
  readonly viewerUrl?: string;
}
