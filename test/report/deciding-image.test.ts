import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectDecidingImage } from '../../src/report/deciding-image.ts';
import { rules } from './fixtures.ts';

describe('selectDecidingImage', () => {
  it('returns -1 for no image and ranks by the rule file, not by a hard-coded order', () => {
    assert.equal(selectDecidingImage([], rules), -1);
    const images = [
      { category: 'low' as const, bccProbability: 0.99 },
      { category: 'moderate' as const, bccProbability: 0.5 },
    ];
    assert.equal(selectDecidingImage(images, rules), 1);
    const inverted = { ...rules, categories: rules.categories.map((c) => ({ ...c, rank: -c.rank })) };
    assert.equal(selectDecidingImage(images, inverted), 0);
  });
});
