import type { ServiceRequest } from 'fhir/r4';
import { describeOutcome } from '../common/outcomes.ts';
import type { ReferralImageOutcome } from '../report/triage-report.ts';
import type { Card } from './card.ts';
import { CARD_NOTICE, RESEND_ADVICE, escapeMarkdown } from './card-detail.ts';
import type { CardOptions } from './to-card.ts';
import { cardSource } from './to-card.ts';

function referralName(referral: ServiceRequest): string {
  return referral.id ? `ServiceRequest/${referral.id}` : 'this referral';
}

/** The same model line as a triage card's, so a "not assessed" card still says which model answered. */
function modelLines(opts: CardOptions): string[] {
  return opts.model ? ['', `**Model:** ${escapeMarkdown(`${opts.model.name} ${opts.model.version}`)} ([model card](${opts.modelCardUrl})).`] : [];
}

/** A card that assesses nothing: what happened, then the decision-support notice and the model. */
function statusCard(opts: CardOptions, summary: string, indicator: Card['indicator'], body: readonly string[]): Card {
  return {
    uuid: opts.newUuid(),
    summary,
    detail: [...body, '', `*${CARD_NOTICE}*`, ...modelLines(opts)].join('\n'),
    indicator,
    source: cardSource(opts),
  };
}

/**
 * The referral carries no dermoscopic image: nothing for the model to assess. Info, not a warning:
 * the referral is triaged as usual, by a person.
 */
export function noImagesCard(referral: ServiceRequest, opts: CardOptions): Card {
  return statusCard(opts, 'BCC triage: no dermoscopic images attached to this referral — not assessed', 'info', [
    `The BCC triage model found no dermoscopic image attached to ${escapeMarkdown(referralName(referral))}, so it has not assessed it.`,
    'Attach dermoscopic images of the lesion to the referral to get an AI triage.',
  ]);
}

function reasonOf(img: ReferralImageOutcome): string {
  const r = img.result;
  if (r.ok) {
    return 'analysed';
  }
  return r.rejection ? `not assessed: ${r.rejection.reasons.map((g) => g.text).join(' ')}` : `unreadable: ${describeOutcome(r.outcome)}`;
}

/**
 * Images were attached but none could be assessed. When the image gate refused at least one
 * (not dermoscopic, blurred, over-exposed...), an info card that says which and why and asks for a
 * dermoscopic photo, with no BCC probability anywhere. When none could even be read (corrupt,
 * unsupported format, too large), a warning: the referrer may believe the lesion was assessed.
 */
export function notAssessedCard(referral: ServiceRequest, images: readonly ReferralImageOutcome[], opts: CardOptions): Card {
  const name = escapeMarkdown(referralName(referral));
  const lines = images.map((img, k) => `- Image ${k + 1}, ${escapeMarkdown(img.label)}: ${escapeMarkdown(reasonOf(img))}`);
  if (images.some((img) => !img.result.ok && img.result.rejection)) {
    return statusCard(opts, `BCC triage: the ${images.length} referral image(s) cannot be judged — please send a dermoscopic photo`, 'info', [
      `The BCC triage model cannot judge any image attached to ${name}, so it gives no BCC assessment:`,
      '',
      ...lines,
      '',
      RESEND_ADVICE,
    ]);
  }
  return statusCard(opts, `BCC triage: none of the ${images.length} referral image(s) could be read — not assessed`, 'warning', [
    `The BCC triage model could not read any image attached to ${name}:`,
    '',
    ...lines,
    '',
    'Re-attach the dermoscopic images (JPEG or PNG) to get an AI triage; until then the referral is triaged without it.',
  ]);
}
