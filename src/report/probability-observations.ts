import type { Extension, Observation, Quantity } from 'fhir/r4';
import type { PatternFinding } from '../model/findings.ts';
import { OperationOutcomeError, serverError } from '../common/outcomes.ts';
import type { AnalysedImage, BuildContext } from './build-context.ts';
import { aiAssertedMeta, basedOnReferral, modelTitle } from './build-context.ts';
import type { AllocatedId } from './ids.ts';
import { roundProbability } from './ids.ts';
import type { Terminology } from './terminology.ts';
import { toCoding } from './terminology.ts';
import { operatingPoints } from '../model/calibration.ts';

/** A probability as a UCUM dimensionless quantity (`1`): comparable, unlike a bare string. */
function probabilityQuantity(t: Terminology, p: number, where: string): Quantity {
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    // NaN would serialise as null and pass unnoticed into the chart.
    throw new OperationOutcomeError(serverError(`${where}: probability ${p} is not in [0, 1]`));
  }
  const u = t.observation.probabilityUnit;
  return { value: roundProbability(p), unit: u.unit, system: u.system, code: u.code };
}

/**
 * The AI Transparency IG's AIconfidence (valueDecimal: "the probability that the result is
 * correct"). The result an Observation reports is its interpretation: POS / present, or NEG /
 * absent. So the confidence is the model's probability p when it reports positive, and 1 - p when
 * it reports negative; p itself would read as a 2% confidence in a confident "not BCC". It is the
 * model's own estimate (calibrated for BCC when the manifest calibrates, not for patterns), not a
 * measured accuracy: decision support, like the value.
 */
function aiConfidence(t: Terminology, p: number, positive: boolean): Extension {
  return { url: t.aiTransparency.confidenceExtension, valueDecimal: roundProbability(positive ? p : 1 - p) };
}

/** Fields every AI Observation of one image shares. */
function imageObservationBase(ctx: BuildContext, img: AnalysedImage): Pick<Observation, 'status' | 'category' | 'subject' | 'basedOn' | 'effectiveDateTime' | 'issued' | 'device' | 'derivedFrom' | 'bodySite'> {
  return {
    // Preliminary: model output that no clinician has reviewed yet.
    status: 'preliminary',
    category: [{ coding: [toCoding(ctx.terminology.observation.category)] }],
    subject: ctx.patient,
    ...basedOnReferral(ctx),
    effectiveDateTime: ctx.now,
    issued: ctx.now,
    device: ctx.device,
    // The label travels as the reference's display, so a reader of the saved report needs no prose.
    derivedFrom: [{ ...img.outcome.source, display: img.outcome.label }],
    ...(img.outcome.bodySite ? { bodySite: img.outcome.bodySite } : {}),
  };
}

/** The network's BCC probability for one image, interpreted at the rules' network operating point. */
export function buildBccProbabilityObservation(ctx: BuildContext, img: AnalysedImage, ids: AllocatedId): Observation {
  const t = ctx.terminology;
  const a = img.analysis;
  const thresholdName = ctx.rules.network.threshold;
  const threshold = operatingPoints(ctx.manifest)[thresholdName]?.toFixed(3);
  const interpretation = a.triage.networkVerdict === 'bcc' ? t.observation.interpretation.positive : t.observation.interpretation.negative;
  return {
    resourceType: 'Observation',
    id: ids.id,
    meta: aiAssertedMeta(ctx, t.profiles.bccProbability),
    extension: [aiConfidence(t, a.findings.bccProbability, a.triage.networkVerdict === 'bcc')],
    ...imageObservationBase(ctx, img),
    code: { coding: [toCoding(t.observation.bccProbability)], text: t.observation.bccProbability.display },
    valueQuantity: probabilityQuantity(t, a.findings.bccProbability, `images[${img.index}].findings.bccProbability`),
    interpretation: [{ coding: [toCoding(interpretation)], text: a.triage.trace[0] ?? interpretation.display }],
    method: {
      // The rule that decided the image, as data: system names the rules file, version its version.
      coding: [{ system: `${t.observation.triageRuleSystemBase}${ctx.rules.id}`, version: ctx.rules.version, code: a.triage.rule }],
      text: `AI model ${modelTitle(ctx.manifest)}; ${thresholdName} operating point ${threshold ?? 'unknown'}${ctx.manifest.calibration ? ` (calibrated probability, ${ctx.manifest.calibration.method})` : ''}`,
    },
    component: [
      {
        code: { coding: [toCoding(t.observation.imageTriageCategory)] },
        valueCodeableConcept: { coding: [{ system: t.codeSystems.triageCategory.url, code: a.triage.category, display: a.triage.categoryDisplay }], text: a.triage.categoryDisplay },
      },
    ],
    note: [
      { text: `Image: ${img.outcome.label}. Triage: ${a.triage.categoryDisplay} (rule ${a.triage.rule}, ${ctx.rules.id} ${ctx.rules.version}).` },
      // The rule trace, so the chart carries the reasoning and not just the number.
      ...a.triage.trace.map((text) => ({ text })),
    ],
  };
}

/**
 * One Observation per pattern the installed model assessed. A not-assessed pattern gets none: an
 * untrained head's output means nothing, and an "absent" row would read as a negative finding.
 */
export function assessedPatterns(patterns: readonly PatternFinding[]): readonly PatternFinding[] {
  return patterns.filter((p) => p.status !== 'not-assessed');
}

export function buildPatternObservation(ctx: BuildContext, img: AnalysedImage, p: PatternFinding, ids: AllocatedId): Observation {
  const t = ctx.terminology;
  if (p.status === 'not-assessed') {
    throw new OperationOutcomeError(serverError(`images[${img.index}].patterns.${p.id}: not assessed by this model; no Observation`));
  }
  const present = p.status === 'present';
  return {
    resourceType: 'Observation',
    id: ids.id,
    meta: aiAssertedMeta(ctx, t.profiles.dermoscopicPattern),
    extension: [aiConfidence(t, p.probability ?? Number.NaN, present)],
    ...imageObservationBase(ctx, img),
    code: { coding: [{ system: t.codeSystems.dermoscopicPattern.url, code: p.id, display: p.display }], text: p.display },
    valueBoolean: present,
    interpretation: [{ coding: [toCoding(present ? t.observation.interpretation.positive : t.observation.interpretation.negative)] }],
    component: [
      {
        code: { coding: [toCoding(t.observation.patternProbability)] },
        valueQuantity: probabilityQuantity(t, p.probability ?? Number.NaN, `images[${img.index}].patterns.${p.id}.probability`),
        // The pattern's threshold: reported present at or above it.
        ...(p.threshold !== undefined ? { referenceRange: [{ low: { ...probabilityQuantity(t, p.threshold, `patterns.${p.id}.threshold`), value: p.threshold }, text: 'reported present at or above this probability' }] } : {}),
      },
    ],
    method: { text: `AI model ${modelTitle(ctx.manifest)}; present at probability >= ${p.threshold ?? 'unknown'}` },
    note: [
      {
        text:
          p.role === 'negative'
            ? `${p.display} argues against BCC in the dermoscopic criterion (image: ${img.outcome.label}).`
            : `${p.display} is a BCC pattern in the dermoscopic criterion (image: ${img.outcome.label}).`,
      },
    ],
  };
}
