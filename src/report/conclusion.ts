import type { ModelManifest } from '../model/manifest.ts';
import { modelTitle } from './build-context.ts';
import { DECISION_SUPPORT_NOTICE } from './notice.ts';
import type { AnalysedImageSummary, FailedImageSummary, ImageSummary } from './triage-report.ts';

function list(items: readonly string[]): string {
  return items.length ? items.join(', ') : 'none';
}

/**
 * DiagnosticReport.conclusion: plain text a clinician reads in any EHR viewer. Says what the
 * result is (decision support), the triage, what it means, the probability as a natural frequency
 * in validation beside the base rate, the criterion's verdict, what
 * the model saw and could not assess, which images were unreadable, and which model spoke.
 */
export function writeConclusion(deciding: AnalysedImageSummary, meaning: string, images: readonly ImageSummary[], manifest: Pick<ModelManifest, 'name' | 'version'>): string {
  const present = deciding.patterns.filter((p) => p.status === 'present').map((p) => p.display);
  const notAssessed = deciding.patterns.filter((p) => p.status === 'not-assessed').map((p) => p.display);
  const analysed = images.filter((i) => i.ok).length;
  const warnings = deciding.warnings.length ? [`Image checks on "${deciding.label}": ${deciding.warnings.join(' ')}`] : [];
  const failed = images.filter((i): i is FailedImageSummary => !i.ok);
  const lines = [
    DECISION_SUPPORT_NOTICE,
    `AI triage: ${deciding.categoryDisplay}. ${meaning}`,
    ...(deciding.risk ? [deciding.risk.text] : []),
    `BCC probability ${deciding.bccProbability.toFixed(2)} (calibrated), image "${deciding.label}"; ${analysed} of ${images.length} image(s) analysed.`,
    `Dermoscopic criterion: ${deciding.criterion.verdict}. ${deciding.criterion.text}`,
    `Patterns present: ${list(present)}.`,
    `Not assessed by this model: ${list(notAssessed)}.`,
    ...warnings,
    ...failed.map((f) =>
      f.kind === 'rejected'
        ? `Image "${f.label}" (${f.source.reference ?? 'no reference'}) not assessed by the image gate: ${f.gateReasons.join(' ')}`
        : `Unreadable image "${f.label}" (${f.source.reference ?? 'no reference'}): ${f.reason}`,
    ),
    `Model: ${modelTitle(manifest)}.`,
  ];
  return lines.join('\n');
}
