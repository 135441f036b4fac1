import type { Reference, ServiceRequest } from 'fhir/r4';
import type { ImageResult } from '../../src/analysis/analyze-images.ts';
import { DEFAULT_RULES } from '../../src/config.ts';
import type { OutputHeatmap } from '../../src/explain/output-heatmaps.ts';
import { readFindings } from '../../src/model/findings.ts';
import { businessRule, unprocessable } from '../../src/common/outcomes.ts';
import { loadTerminology } from '../../src/report/terminology.ts';
import type { ReferralImageOutcome, TriageReportInput } from '../../src/report/triage-report.ts';
import { applyBccCriterion } from '../../src/rules/criterion.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import { assignTriage } from '../../src/rules/triage.ts';
import { loadPinnedManifest } from '../fixtures/pinned-manifest.ts';
import { solidPng } from '../helpers/images.ts';

/** Shared by test/report and test/cards: the installed manifest (operating points pinned), rules and codes; hand-built image results (no model). */
export const manifest = await loadPinnedManifest();
export const rules = await loadRuleSet(DEFAULT_RULES);
export const terminology = await loadTerminology();

export const patient = { reference: 'Patient/p1', display: 'Test Patient' } satisfies Reference;

export const referral = {
  resourceType: 'ServiceRequest',
  id: 'ref-1',
  status: 'active',
  intent: 'order',
  priority: 'routine',
  subject: patient,
  code: { coding: [{ system: 'http://snomed.info/sct', code: '308472003', display: 'Referral to dermatologist' }] },
  performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatology' }] },
} satisfies ServiceRequest;

/** Deterministic UUIDs: 00000000-0000-4000-8000-000000000001, ...002, ... */
export function counterIds(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
}

/** Raw pattern outputs by id; anything not named is 0 (untrained heads included: readFindings ignores them). */
export function analysedResult(id: string, bcc: number, patterns: Readonly<Record<string, number>> = {}): ImageResult {
  const outputs = Float32Array.from(manifest.patterns.map((p) => patterns[p.id] ?? 0));
  const findings = readFindings({ bcc, patterns: outputs }, manifest);
  const criterion = applyBccCriterion(findings.patterns, rules);
  const triage = assignTriage(bcc, criterion, manifest.thresholds, rules);
  const image = { bytes: Buffer.alloc(0), format: 'jpeg' as const, width: 640, height: 480 };
  return {
    ok: true,
    id,
    image,
    analysis: {
      image: { width: 640, height: 480, format: 'jpeg' },
      region: { left: 0, top: 0, width: 640, height: 480 },
      findings,
      criterion,
      triage,
      cam: new Float32Array(8 * 7 * 7),
      warnings: [],
    },
  };
}

export function failedResult(id: string, text = 'image is unreadable: unsupported image format'): ImageResult {
  return { ok: false, id, outcome: unprocessable(text, `${id}.content`) };
}

/** An image the gate refused: readable, but a close-up photo instead of dermoscopy. */
export function rejectedResult(id: string): ImageResult {
  const reason = { code: 'not-dermoscopic' as const, text: 'This does not look like a dermoscopic image (score 0.05, limit 0.50).', measured: 0.05, limit: 0.5 };
  return {
    ok: false,
    id,
    outcome: businessRule(`image not assessed: ${reason.text}`),
    rejection: { stage: 'model', reasons: [reason], warnings: [] },
  };
}

const png = await solidPng(4, 3, [200, 40, 40]);

export function heatmapsFor(result: ImageResult): OutputHeatmap[] {
  if (!result.ok) {
    return [];
  }
  const present = result.analysis.findings.patterns.filter((p) => p.status === 'present');
  return [{ output: 'bcc', display: 'Basal cell carcinoma' }, ...present.map((p) => ({ output: p.id, display: p.display }))].map((o) => ({
    ...o,
    png,
    width: 4,
    height: 3,
  }));
}

export function image(n: number, result: ImageResult, label = `Lesion ${n}`): ReferralImageOutcome {
  return { source: { reference: `Media/img-${n}` }, label, result, heatmaps: heatmapsFor(result) };
}

/**
 * Typical images: high (very likely), moderate (possible, no pattern either way), indeterminate
 * (network above the triage point, pigment network present: they disagree), low.
 */
export const highImage = (n = 1): ReferralImageOutcome => image(n, analysedResult(`Media/img-${n}`, 0.91, { arborizing_telangiectasia: 0.6 }), 'Left cheek');
export const moderateImage = (n = 2): ReferralImageOutcome => image(n, analysedResult(`Media/img-${n}`, 0.5, { pigment_network: 0.2 }), 'Back');
export const indeterminateImage = (n = 4): ReferralImageOutcome => image(n, analysedResult(`Media/img-${n}`, 0.5, { pigment_network: 0.8 }), 'Shoulder');
export const lowImage = (n = 3): ReferralImageOutcome => image(n, analysedResult(`Media/img-${n}`, 0.1, { pigment_network: 0.8 }), 'Forearm');

export function reportInput(images: readonly ReferralImageOutcome[], extra: Partial<TriageReportInput> = {}): TriageReportInput {
  return {
    referral,
    patient,
    images,
    manifest,
    rules,
    terminology,
    now: new Date('2026-11-27T09:30:00Z'),
    newId: counterIds(),
    ...extra,
  };
}
