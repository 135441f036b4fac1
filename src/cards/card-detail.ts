import type { PatternFinding } from '../model/findings.ts';
import type { AnalysedImageSummary, FailedImageSummary, ImageSummary, TriageReport } from '../report/triage-report.ts';

/** The sentence every card carries, word for word. */
export const CARD_NOTICE = 'Decision support, not a diagnosis; a dermatologist reviews every referral.';

/**
 * Labels and reasons come from the referral (free text typed in the EHR): escaped so that a label
 * cannot become a link, an image, code, a table cell or HTML inside the card. Only inline syntax
 * is escaped: text never starts a line here (newlines collapse), so `#`, `-` and `1.` stay plain,
 * and a client that shows the markdown raw shows few backslashes.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/[\\`*_[\]<>|~]/g, (c) => `\\${c}`);
}

function patternList(patterns: readonly PatternFinding[]): string {
  return patterns.length ? patterns.map((p) => `${escapeMarkdown(p.display)} (${(p.probability ?? Number.NaN).toFixed(2)})`).join(', ') : 'none';
}

function names(items: readonly string[]): string {
  return items.length ? items.map(escapeMarkdown).join(', ') : 'none';
}

function analysedImageSection(s: AnalysedImageSummary, deciding: boolean): string[] {
  const present = s.patterns.filter((p) => p.status === 'present');
  const absent = s.patterns.filter((p) => p.status === 'absent');
  const notAssessed = s.patterns.filter((p) => p.status === 'not-assessed').map((p) => p.display);
  const heatmaps = s.heatmaps.length
    ? `${names(s.heatmaps.map((h) => h.display))}, saved with the report as images (Media) to lay over this picture`
    : 'none for this image';
  return [
    `#### Image ${s.index + 1}: ${escapeMarkdown(s.label)}${deciding ? ' (sets the priority)' : ''}`,
    '',
    `- **Triage:** ${escapeMarkdown(s.categoryDisplay)} (rule \`${s.rule}\`)`,
    `- **BCC probability:** ${s.bccProbability.toFixed(3)} (network verdict: ${s.networkVerdict === 'bcc' ? 'BCC' : 'not BCC'})`,
    ...(s.risk ? [`- **In validation:** ${escapeMarkdown(s.risk.text)}`] : []),
    `- **Patterns present:** ${patternList(present)}`,
    `- **Patterns absent:** ${patternList(absent)}`,
    `- **Not assessed by this model:** ${names(notAssessed)}`,
    `- **Criterion:** ${s.criterion.verdict}`,
    `- **Heatmaps:** ${heatmaps}`,
    ...(s.warnings.length ? [`- **Image checks:** ${s.warnings.map(escapeMarkdown).join(' ')}`] : []),
    '- **Why:**',
    ...s.trace.map((line, k) => `  ${k + 1}. ${escapeMarkdown(line)}`),
  ];
}

/** Why the image gate refused an image, and what to send instead. */
export const RESEND_ADVICE = 'Please attach a sharp, evenly lit dermoscopic photo of the lesion (taken through the dermatoscope, lesion centred).';

function failedImageSection(s: FailedImageSummary): string[] {
  if (s.kind === 'rejected') {
    return [
      `#### Image ${s.index + 1}: ${escapeMarkdown(s.label)} (not assessed)`,
      '',
      `The model did not score this image: ${s.gateReasons.map(escapeMarkdown).join(' ')}`,
      RESEND_ADVICE,
    ];
  }
  return [`#### Image ${s.index + 1}: ${escapeMarkdown(s.label)} (unreadable)`, '', `The model could not read this image: ${escapeMarkdown(s.reason)}`];
}

export interface DetailOptions {
  readonly modelCardUrl: string;
  /** The save suggestion is replaced by system actions. */
  readonly systemActions?: boolean;
}

/** The card's GitHub-flavoured markdown detail: per image what the model saw and why, then the model. */
export function writeCardDetail(report: TriageReport, opts: DetailOptions): string {
  const images = report.imageSummaries.flatMap((s: ImageSummary) => [
    '',
    ...(s.ok ? analysedImageSection(s, s.index === report.decidingImage.index) : failedImageSection(s)),
  ]);
  const m = report.model;
  return [
    `**${escapeMarkdown(report.categoryDisplay)}.** ${escapeMarkdown(report.categoryMeaning)}`,
    '',
    ...(report.risk ? [`**What the score means:** ${escapeMarkdown(report.risk.text)}`, ''] : []),
    `BCC probability ${report.bccProbability.toFixed(2)} (calibrated) on image "${escapeMarkdown(report.decidingImage.label)}".`,
    '',
    `*${CARD_NOTICE}*`,
    ...images,
    '',
    '---',
    '',
    `**Model:** ${escapeMarkdown(`${m.name} ${m.version}`)} ([model card](${opts.modelCardUrl})). ` +
      `**Assesses:** ${names(m.assessablePatterns)}. **Does not assess:** ${names(m.notAssessedPatterns)}.`,
    '',
    `**Image checks:** ${escapeMarkdown(m.gate)}${m.calibration ? ` BCC probabilities are calibrated (${escapeMarkdown(m.calibration)} scaling on out-of-fold predictions).` : ''}`,
    '',
    `**Rules:** ${escapeMarkdown(`${report.rules.id} ${report.rules.version}`)}.`,
    ...(opts.systemActions
      ? ['', 'The preliminary AI report was offered to the EHR to file automatically (system actions); the EHR decides whether to apply them.']
      : []),
  ].join('\n');
}
