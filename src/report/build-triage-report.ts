import type { DiagnosticReportMedia, Media, Observation } from 'fhir/r4';
import { assessablePatterns } from '../model/manifest.ts';
import { OperationOutcomeError, badRequest, describeOutcome, unprocessable } from '../common/outcomes.ts';
import { buildAiProvenance } from './ai-provenance.ts';
import type { AnalysedImage, BuildContext } from './build-context.ts';
import { writeConclusion } from './conclusion.ts';
import { describeModelGate } from '../gate/model-gate.ts';
import { selectDecidingImage } from './deciding-image.ts';
import { buildDiagnosticReport } from './diagnostic-report.ts';
import { buildHeatmapMedia, heatmapTitle } from './heatmap-media.ts';
import { allocateId } from './ids.ts';
import { buildModelCardDocument } from './model-card.ts';
import { buildModelDevice } from './model-device.ts';
import { assessedPatterns, buildBccProbabilityObservation, buildPatternObservation } from './probability-observations.ts';
import { referralReference } from './referral-reference.ts';
import { describeCategory } from '../rules/rule-set.ts';
import { describeRisk } from '../rules/risk-statement.ts';
import type { AnalysedImageSummary, ImageSummary, ReferralImageOutcome, TriageReport, TriageReportInput } from './triage-report.ts';

interface ImageResources {
  readonly summary: AnalysedImageSummary;
  readonly observations: readonly Observation[];
  readonly media: readonly Media[];
  readonly reportMedia: readonly DiagnosticReportMedia[];
}

/** An analysed image's Observations (BCC probability, then each assessed pattern) and heatmap Media. */
function buildImageResources(ctx: BuildContext, img: AnalysedImage, newId: () => string): ImageResources {
  const a = img.analysis;
  const bccIds = allocateId(newId);
  const observations: Observation[] = [buildBccProbabilityObservation(ctx, img, bccIds)];
  for (const p of assessedPatterns(a.findings.patterns)) {
    observations.push(buildPatternObservation(ctx, img, p, allocateId(newId)));
  }
  const media: Media[] = [];
  const reportMedia: DiagnosticReportMedia[] = [];
  const heatmaps = img.outcome.heatmaps.map((h) => {
    const ids = allocateId(newId);
    media.push(buildHeatmapMedia(ctx, img, h, ids));
    reportMedia.push({ comment: `${img.outcome.label}: ${heatmapTitle(h)}, where the model's evidence for ${h.display} lies`, link: { reference: ids.fullUrl } });
    return { output: h.output, display: h.display, fullUrl: ids.fullUrl, ...(h.description ? { description: h.description } : {}) };
  });
  const summary: AnalysedImageSummary = {
    ok: true,
    index: img.index,
    source: img.outcome.source,
    label: img.outcome.label,
    category: a.triage.category,
    categoryDisplay: a.triage.categoryDisplay,
    bccProbability: a.findings.bccProbability,
    ...(ctx.manifest.riskBands ? { risk: describeRisk(a.findings.bccProbability, ctx.manifest.riskBands) } : {}),
    networkVerdict: a.triage.networkVerdict,
    rule: a.triage.rule,
    criterion: a.criterion,
    trace: a.triage.trace,
    patterns: a.findings.patterns,
    heatmaps,
    observations: observations.map((o) => `urn:uuid:${o.id ?? ''}`),
    warnings: a.warnings.map((w) => w.text),
  };
  return { summary, observations, media, reportMedia };
}

function checkInput(input: TriageReportInput): void {
  if (input.images.length === 0) {
    throw new OperationOutcomeError(badRequest('the referral has no images to assess', 'images'));
  }
  if (!input.images.some((i) => i.result.ok)) {
    throw new OperationOutcomeError(unprocessable(`none of the referral's ${input.images.length} image(s) could be assessed`, 'images'));
  }
}

function analysedImage(outcome: ReferralImageOutcome, index: number): AnalysedImage | undefined {
  return outcome.result.ok ? { index, outcome, analysis: outcome.result.analysis } : undefined;
}

/**
 * Turns a referral's analysed images into FHIR R4 resources and the referral's triage. Pure: ids
 * come from `newId`, the clock from `now`. Every resource has `id` = a UUID and is referenced by
 * `urn:uuid:<id>`, so the set applies as one transaction (`toTransactionBundle`).
 * Throws an OperationOutcomeError when there is nothing to report: no image, or no assessable
 * image (the edge answers with `noImagesCard` / `notAssessedCard` instead). A referral without an
 * id is still reported on; see referralReference for what `basedOn` then holds.
 */
export function buildTriageReport(input: TriageReportInput): TriageReport {
  checkInput(input);
  const { manifest, rules, terminology } = input;
  const deviceIds = allocateId(input.newId);
  const ctx: BuildContext = {
    terminology,
    manifest,
    rules,
    patient: input.patient,
    referral: referralReference(input.referral),
    device: { reference: deviceIds.fullUrl },
    now: input.now.toISOString(),
  };
  const modelCardIds = allocateId(input.newId);
  const modelCard = buildModelCardDocument(terminology, manifest, modelCardIds);
  const device = buildModelDevice(terminology, manifest, deviceIds, { reference: modelCardIds.fullUrl });

  const observations: Observation[] = [];
  const media: Media[] = [];
  const reportMedia: DiagnosticReportMedia[] = [];
  const imageSummaries: ImageSummary[] = input.images.map((outcome, index): ImageSummary => {
    const img = analysedImage(outcome, index);
    if (!img) {
      const r = outcome.result;
      const reason = r.ok ? 'not analysed' : describeOutcome(r.outcome);
      const rejection = r.ok ? undefined : r.rejection;
      return {
        ok: false,
        index,
        source: outcome.source,
        label: outcome.label,
        kind: rejection ? 'rejected' : 'unreadable',
        reason,
        gateReasons: rejection ? rejection.reasons.map((g) => g.text) : [],
      };
    }
    const built = buildImageResources(ctx, img, input.newId);
    observations.push(...built.observations);
    media.push(...built.media);
    reportMedia.push(...built.reportMedia);
    return built.summary;
  });

  const analysed = imageSummaries.filter((s): s is AnalysedImageSummary => s.ok);
  // checkInput guarantees one analysed image, so the index is valid.
  const deciding = analysed[selectDecidingImage(analysed, rules)]!;
  const { meaning } = describeCategory(rules, deciding.category);
  const conclusion = writeConclusion(deciding, meaning, imageSummaries, manifest);
  const reportIds = allocateId(input.newId);
  const viewerUrl = input.viewerBaseUrl ? `${input.viewerBaseUrl.replace(/\/+$/, '')}/${reportIds.id}` : undefined;
  const report = buildDiagnosticReport(
    ctx,
    {
      category: deciding.category,
      categoryDisplay: deciding.categoryDisplay,
      conclusion,
      results: analysed.flatMap((s) => s.observations),
      media: reportMedia,
      ...(viewerUrl ? { viewerUrl } : {}),
    },
    reportIds,
  );
  const outputs = [report, ...observations, ...media];
  const provenance = buildAiProvenance(
    ctx,
    outputs.map((r) => `urn:uuid:${r.id ?? ''}`),
    analysed.map((s) => s.source),
    allocateId(input.newId),
    { reference: modelCardIds.fullUrl },
  );

  const fullUrls = new Map<string, string>();
  for (const r of [report, ...observations, ...media, device, modelCard, provenance]) {
    fullUrls.set(`${r.resourceType}/${r.id ?? ''}`, `urn:uuid:${r.id ?? ''}`);
  }
  return {
    category: deciding.category,
    categoryDisplay: deciding.categoryDisplay,
    categoryMeaning: meaning,
    bccProbability: deciding.bccProbability,
    ...(deciding.risk ? { risk: deciding.risk } : {}),
    decidingImage: deciding,
    imageSummaries,
    resources: { report, observations, media, device, modelCard, provenance },
    fullUrls,
    conclusion,
    model: {
      name: manifest.name,
      version: manifest.version,
      assessablePatterns: assessablePatterns(manifest).map((p) => p.display),
      notAssessedPatterns: manifest.patterns.filter((p) => !p.trained).map((p) => p.display),
      gate: describeModelGate(manifest),
      ...(manifest.calibration ? { calibration: manifest.calibration.method } : {}),
    },
    rules: { id: rules.id, version: rules.version },
    ...(viewerUrl ? { viewerUrl } : {}),
  };
}
