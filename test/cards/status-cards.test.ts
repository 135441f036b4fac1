import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCard } from '../../src/cards/check-card.ts';
import { noImagesCard, notAssessedCard } from '../../src/cards/status-cards.ts';
import { counterIds, failedResult, image, referral, rejectedResult, terminology } from '../report/fixtures.ts';

const opts = { serviceLabel: 'BCC-CDS', modelCardUrl: 'https://bcc-cds.org/model-card', newUuid: counterIds(), terminology };

describe('status cards', () => {
  it('says, as info, that a referral without images was not assessed', () => {
    const c = noImagesCard(referral, opts);
    assert.equal(c.indicator, 'info');
    assert.match(c.summary, /no dermoscopic images/);
    assert.match(c.detail ?? '', /ServiceRequest\/ref-1/);
    assert.deepEqual(checkCard(c), []);
  });

  it('warns when every image failed, naming each with its reason', () => {
    const images = [image(1, failedResult('Media/img-1', 'image is empty'), 'Nose'), image(2, failedResult('Media/img-2', 'image format gif is not accepted'), 'Ear')];
    const c = notAssessedCard(referral, images, opts);
    assert.equal(c.indicator, 'warning');
    assert.match(c.summary, /none of the 2 referral image\(s\) could be read/);
    assert.match(c.detail ?? '', /Image 1, Nose: .*image is empty/);
    assert.match(c.detail ?? '', /Image 2, Ear: .*gif is not accepted/);
    assert.equal(c.suggestions, undefined);
    assert.deepEqual(checkCard(c), []);
  });

  it('asks, as info and with no probability, for a dermoscopic photo when the gate refused the images', () => {
    const images = [image(1, rejectedResult('Media/img-1'), 'Close-up'), image(2, failedResult('Media/img-2', 'image is empty'), 'Ear')];
    const c = notAssessedCard(referral, images, opts);
    assert.equal(c.indicator, 'info');
    assert.match(c.summary, /cannot be judged — please send a dermoscopic photo/);
    assert.match(c.detail ?? '', /Image 1, Close-up: not assessed: This does not look like a dermoscopic image/);
    assert.match(c.detail ?? '', /Image 2, Ear: unreadable: .*image is empty/);
    assert.match(c.detail ?? '', /Please attach a sharp, evenly lit dermoscopic photo/);
    assert.doesNotMatch(`${c.summary} ${c.detail ?? ''}`, /probability|p=/i);
    assert.ok(Array.from(c.summary).length < 140);
    assert.deepEqual(checkCard(c), []);
  });
});
