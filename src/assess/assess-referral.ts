import type { Reference, ServiceRequest } from 'fhir/r4';
import type { ImageInput, ImageResult } from '../analysis/analyze-images.ts';
import { analyzeImages } from '../analysis/analyze-images.ts';
import { renderAnalysisHeatmaps } from '../analysis/analysis-heatmaps.ts';
import { mapConcurrent } from '../common/map-concurrent.ts';
import { OperationOutcomeError, getStatus, serverError } from '../common/outcomes.ts';
import { attachmentBytes } from '../fhir/attachment-bytes.ts';
import type { FhirGateway } from '../fhir/fhir-gateway.ts';
import type { GateConfig } from '../gate/gate-config.ts';
import type { DecodeLimits } from '../imaging/decode.ts';
import type { BccModel } from '../model/session.ts';
import { gatherReferralImages } from '../referral/gather-images.ts';
import type { ReferralImage } from '../referral/referral-images.ts';
import { buildTriageReport } from '../report/build-triage-report.ts';
import { renderTriagePdf, withPresentedFormPdf } from '../report/presented-form-pdf.ts';
import type { ReferralImageOutcome, TriageReport } from '../report/triage-report.ts';
import type { Terminology } from '../report/terminology.ts';
import type { RuleSet } from '../rules/rule-set.ts';

/**
 * What became of one referral, decided here once: the HTTP edge only translates it into a card.
 * - `assessed`: at least one image was scored; the report holds the triage and its FHIR resources.
 * - `no-images`: the referral carries no image to assess.
 * - `not-assessable`: images came, none was scored, and the image gate refused at least one
 *   (not dermoscopic, blurred...): the referrer is asked for a dermoscopic photo.
 * - `unreadable`: images came and none could even be read (corrupt, unsupported, too large).
 */
export type ReferralAssessment =
  | { readonly kind: 'assessed'; readonly images: readonly ReferralImageOutcome[]; readonly report: TriageReport }
  | { readonly kind: 'no-images'; readonly images: readonly [] }
  | { readonly kind: 'not-assessable'; readonly images: readonly ReferralImageOutcome[] }
  | { readonly kind: 'unreadable'; readonly images: readonly ReferralImageOutcome[] };

export type AssessmentKind = ReferralAssessment['kind'];

/** Downloads and heatmap renders of one referral at once (its images are capped by maxImagesPerReferral too). */
const REFERRAL_IO_CONCURRENCY = 4;

export interface AssessDeps {
  readonly model: BccModel;
  readonly rules: RuleSet;
  readonly terminology: Terminology;
  /** The image gate (models/image-gate.json): refused images are not scored. */
  readonly gate?: GateConfig;
  readonly limits: DecodeLimits & { readonly maxImagesPerReferral: number };
  readonly newId: () => string;
  /** Result viewer: the report links to `<viewerBaseUrl>/<report id>`. */
  readonly viewerBaseUrl?: string;
  /** DiagnosticReport.presentedForm carries the report as a PDF (default true; src/report/presented-form-pdf.ts). */
  readonly presentedFormPdf?: boolean;
}

export interface ReferralContext {
  /** The hook's context.patientId: images of another patient are refused. */
  readonly patientId: string;
  readonly prefetch?: Readonly<Record<string, unknown>> | null;
  /** Present when the hook gave a fhirServer the service may call. */
  readonly gateway?: FhirGateway;
  /** One time for every resource of the hook. */
  readonly now: Date;
  /** Aborted when the hook's deadline passed: the model is spared work nobody waits for. */
  readonly signal?: AbortSignal;
}

/**
 * One referral in, its assessment out: its images (prefetch, else the FHIR server) -> bytes ->
 * decode, gate, model, criterion, triage per image -> heatmaps -> FHIR report (with its PDF). A bad image degrades
 * only its own result. Throws only for what is not one image's fault: 412 when the request gives no
 * way to fetch the data, a failing model, the deadline.
 */
export async function assessReferral(deps: AssessDeps, referral: ServiceRequest, ctx: ReferralContext): Promise<ReferralAssessment> {
  const found = await gatherReferralImages(referral, {
    patientId: ctx.patientId,
    ...(ctx.prefetch ? { prefetch: ctx.prefetch } : {}),
    ...(ctx.gateway ? { gateway: ctx.gateway } : {}),
  });
  const planned = found.slice(0, deps.limits.maxImagesPerReferral);
  if (planned.length === 0) {
    return { kind: 'no-images', images: [] };
  }
  const fetched = await mapConcurrent(planned, REFERRAL_IO_CONCURRENCY, (image, k) => fetchImage(image, String(k), ctx.gateway, deps.limits.maxBytes));
  ctx.signal?.throwIfAborted();
  const analysed = await analyzeImages(
    { model: deps.model, rules: deps.rules, gate: deps.gate, limits: deps.limits },
    fetched.flatMap((f) => (f.ok ? [f.input] : [])),
  );
  const byId = new Map<string, ImageResult>(analysed.map((r) => [r.id, r]));
  const images = await mapConcurrent(planned, REFERRAL_IO_CONCURRENCY, async (image, k): Promise<ReferralImageOutcome> => {
    const f = fetched[k];
    const id = String(k);
    const result: ImageResult = f && !f.ok ? { ok: false, id, outcome: f.outcome } : (byId.get(id) ?? { ok: false, id, outcome: serverError('not analysed') });
    return {
      source: image.source,
      label: image.label,
      ...(image.bodySite ? { bodySite: image.bodySite } : {}),
      result,
      heatmaps: result.ok ? await renderAnalysisHeatmaps(result.analysis, deps.model) : [],
    };
  });
  if (!images.some((i) => i.result.ok)) {
    return { kind: images.some((i) => !i.result.ok && i.result.rejection) ? 'not-assessable' : 'unreadable', images };
  }
  const built = buildTriageReport({
    referral,
    patient: patientReference(ctx.patientId),
    images,
    manifest: deps.model.manifest,
    rules: deps.rules,
    terminology: deps.terminology,
    now: ctx.now,
    newId: deps.newId,
    ...(deps.viewerBaseUrl ? { viewerBaseUrl: deps.viewerBaseUrl } : {}),
  });
  if (deps.presentedFormPdf === false) {
    return { kind: 'assessed', images, report: built };
  }
  ctx.signal?.throwIfAborted();
  const report = withPresentedFormPdf(built, await renderTriagePdf(built, images, ctx.now), ctx.now);
  return { kind: 'assessed', images, report };
}

type FetchedImage = { readonly ok: true; readonly input: ImageInput } | { readonly ok: false; readonly outcome: Extract<ImageResult, { ok: false }>['outcome'] };

async function fetchImage(image: ReferralImage, id: string, gateway: FhirGateway | undefined, maxBytes: number): Promise<FetchedImage> {
  try {
    return { ok: true, input: { id, bytes: await attachmentBytes(image, gateway, maxBytes), where: image.where } };
  } catch (err) {
    // 412 (no FHIR server to fetch the URL from, token refused, server unreachable) is about the
    // request, not the image: the client must retry with a fhirServer or a fresh token, so the
    // whole hook answers 412 (CDS Hooks 2.0) instead of a card that blames the image.
    if (err instanceof OperationOutcomeError && getStatus(err.outcome) === 412) {
      throw err;
    }
    return { ok: false, outcome: err instanceof OperationOutcomeError ? err.outcome : serverError(`could not fetch ${image.where}`) };
  }
}

function patientReference(patientId: string): Reference {
  return { reference: patientId.includes('/') ? patientId : `Patient/${patientId}` };
}
