/** What a hook's answer says about the model that produced it: the card's version and its report's. */
import assert from 'node:assert/strict';
import type { Device, FhirResource } from 'fhir/r4';
import type { Card } from '../../src/cards/card.ts';

export interface AnsweredBy {
  /** The version the card detail names (`**Model:** bcc-mtl-mnv2 1.6.0`). */
  readonly card: string;
  /** The version of the report's model Device (in the "save to chart" suggestion). */
  readonly report: string;
  /** The patterns the card says this model does not assess. */
  readonly notAssessed: string;
}

/** The one card of a one-referral hook answer, read for its model version. */
export function answeredBy(body: unknown): AnsweredBy {
  const cards = (body as { cards?: Card[] }).cards ?? [];
  assert.equal(cards.length, 1, JSON.stringify(body));
  const card = cards[0]!;
  const detail = (card.detail ?? '').replace(/\\(.)/g, '$1');
  const model = /\*\*Model:\*\* \S+ (\S+) \(/.exec(detail)?.[1];
  assert.ok(model, `the card names its model: ${detail}`);
  const resources = (card.suggestions ?? []).flatMap((s) => (s.actions ?? []).flatMap((a): FhirResource[] => (a.resource ? [a.resource] : [])));
  const device = resources.find((r): r is Device => r.resourceType === 'Device');
  const report = device?.version?.[0]?.value;
  assert.ok(report, 'the card offers the report with its model Device');
  return { card: model, report, notAssessed: /\*\*Does not assess:\*\* ([^.]*)\./.exec(detail)?.[1] ?? '' };
}
