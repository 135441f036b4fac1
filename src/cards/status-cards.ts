import type { ServiceRequest } from 'fhir/r4';
import { describeOutcome } from '../outcomes.ts';
import type { ReferralImageOutcome } from '../report/triage-report.ts';
import type { Card } from './card.ts';
import { CARD_NOTICE, escapeMarkdown } from './card-detail.ts';
import type { CardOptions } from './to-card.ts';
import { cardSource } from './to-card.ts';

function referralName(referral: ServiceRequest): string {
  return referral.id ? `ServiceRequest/${referral.id}` : 'this referral';
}

/** The same model line as a triage card's, so a "not assessed" card still says which model answered. */
function modelLines(opts: CardOptions): string[] {
  return opts.model ? ['', `**Model:** ${escapeMarkdown(`${opts.model.name} ${opts.model.version}`)} ([model card](${opts.modelCardUrl})).`] : [];
}

/**
 * The referral carries no dermoscopic image: nothing for the model to assess. Info, not a warning:
 * the referral is triaged as usual, by a person.
 */
export function noImagesCard(referral: ServiceRequest, opts: CardOptions): Card {
  return {
    uuid: opts.newUuid(),
    summary: 'BCC triage: no dermoscopic images attached to this referral — not assessed',
    detail: [
      `The BCC triage model found no dermoscopic image attached to ${escapeMarkdown(referralName(referral))}, so it has not assessed it.`,
      'Attach dermoscopic images of the lesion to the referral to get an AI triage.',
      '',
      `*${CARD_NOTICE}*`,
      ...modelLines(opts),
    ].join('\n'),
    indicator: 'info',
    source: cardSource(opts),
  };
}

/**
 * Images were attached but none could be read (corrupt, unsupported format, too large). A warning:
 * the referrer may believe the lesion was assessed; it was not. Each image is named with the reason.
 */
export function unreadableCard(referral: ServiceRequest, images: readonly ReferralImageOutcome[], opts: CardOptions): Card {
  const lines = images.map((img, k) => {
    const reason = img.result.ok ? 'analysed' : describeOutcome(img.result.outcome);
    return `- Image ${k + 1}, ${escapeMarkdown(img.label)}: ${escapeMarkdown(reason)}`;
  });
  return {
    uuid: opts.newUuid(),
    summary: `BCC triage: none of the ${images.length} referral image(s) could be read — not assessed`,
    detail: [
      `The BCC triage model could not read any image attached to ${escapeMarkdown(referralName(referral))}:`,
      '',
      ...lines,
      '',
      'Re-attach the dermoscopic images (JPEG or PNG) to get an AI triage; until then the referral is triaged without it.',
      '',
      `*${CARD_NOTICE}*`,
      ...modelLines(opts),
    ].join('\n'),
    indicator: 'warning',
    source: cardSource(opts),
  };
}
