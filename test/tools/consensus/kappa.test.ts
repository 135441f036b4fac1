import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeCohenKappa, computePairwiseCohenKappa } from '../../../src/tools/consensus/cohen-kappa.ts';
import type { PairedVotes } from '../../../src/tools/consensus/cohen-kappa.ts';
import { computeFleissKappa } from '../../../src/tools/consensus/fleiss-kappa.ts';
import { buildVoteMatrix, countVotes } from '../../../src/tools/consensus/vote-matrix.ts';

function close(actual: number | null, expected: number, digits = 9): void {
  assert.ok(actual !== null && Math.abs(actual - expected) < 10 ** -digits, `${actual} vs ${expected}`);
}

describe("Fleiss' kappa", () => {
  it("matches the worked example (10 items, 14 raters, 5 categories; Wikipedia, Fleiss' kappa)", () => {
    const counts = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const k = computeFleissKappa(counts);
    // By hand: P-bar = 0.378022, p = [20, 28, 39, 21, 32] / 140, P_e = 0.212755, kappa = 0.209931.
    close(k.observed, 0.378021978, 8);
    close(k.expected, 0.212755102, 8);
    close(k.value, 0.2099307044, 8);
    assert.equal(k.items, 10);
    assert.equal(k.ratings, 140);
  });

  it('handles varying raters per item, leaving out items with one rating (hand-computed: 1/6)', () => {
    // [negatives, positives]: votes 111 / 10 / 0000 / 1 / 110.
    // P_i: (3*2)/(3*2) = 1; 0; (4*3)/(4*3) = 1; (item 4 has one rating: left out); (2*1)/(3*2) = 1/3.
    // P-bar = (1 + 0 + 1 + 1/3) / 4 = 7/12. Ratings of kept items: 12, 6 positive: P_e = 0.5^2 + 0.5^2 = 1/2.
    // kappa = (7/12 - 1/2) / (1 - 1/2) = 1/6.
    const k = computeFleissKappa([
      [0, 3],
      [1, 1],
      [4, 0],
      [0, 1],
      [1, 2],
    ]);
    close(k.observed, 7 / 12);
    close(k.expected, 0.5);
    close(k.value, 1 / 6);
    assert.equal(k.items, 4);
    assert.equal(k.ratings, 12);
  });

  it('is 1 for perfect agreement and null when it is undefined', () => {
    close(computeFleissKappa([[2, 0], [0, 3], [0, 2]]).value, 1);
    // Every vote in one category: expected agreement 1.
    assert.equal(computeFleissKappa([[3, 0], [2, 0]]).value, null);
    // No item with two ratings.
    assert.deepEqual(computeFleissKappa([[1, 0], [0, 1]]), { value: null, items: 0, ratings: 0, observed: null, expected: null });
  });
});

describe("Cohen's kappa", () => {
  const table = (a: number, b: number, c: number, d: number): PairedVotes[] => [
    ...Array.from({ length: a }, () => ({ a: 1, b: 1 }) as const),
    ...Array.from({ length: b }, () => ({ a: 1, b: 0 }) as const),
    ...Array.from({ length: c }, () => ({ a: 0, b: 1 }) as const),
    ...Array.from({ length: d }, () => ({ a: 0, b: 0 }) as const),
  ];

  it("matches the worked example (yes/yes 20, yes/no 5, no/yes 10, no/no 15: kappa 0.4; Wikipedia, Cohen's kappa)", () => {
    // p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
    const k = computeCohenKappa(table(20, 5, 10, 15));
    close(k.value, 0.4);
    assert.equal(k.items, 50);
  });

  it('is negative for systematic disagreement and null when undefined', () => {
    close(computeCohenKappa(table(0, 5, 5, 0)).value, -1);
    assert.equal(computeCohenKappa(table(4, 0, 0, 0)).value, null);
    assert.deepEqual(computeCohenKappa([]), { value: null, items: 0 });
  });

  it('is computed per pair over the items both rated', () => {
    const m = buildVoteMatrix([
      { item: 'p', rater: 'A', value: 1 },
      { item: 'p', rater: 'B', value: 1 },
      { item: 'q', rater: 'A', value: 0 },
      { item: 'q', rater: 'B', value: 0 },
      { item: 'q', rater: 'C', value: 1 },
      { item: 'r', rater: 'A', value: 1 },
      { item: 'r', rater: 'C', value: 1 },
    ]);
    const pairs = computePairwiseCohenKappa(m);
    assert.deepEqual(
      pairs.map((p) => [p.raters.join('-'), p.items]),
      [
        ['A-B', 2],
        ['A-C', 2],
        ['B-C', 1],
      ],
    );
    close(pairs[0]!.value, 1);
    // A-C on q (0 vs 1) and r (1 vs 1): p_o = 1/2, p_e = 1/2 * 1 + 1/2 * 0 = 1/2: kappa 0.
    close(pairs[1]!.value, 0);
    assert.deepEqual(countVotes(m), [
      [0, 2],
      [2, 1],
      [0, 2],
    ]);
  });
});
