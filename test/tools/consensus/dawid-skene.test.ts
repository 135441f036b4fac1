import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateDawidSkene } from '../../../src/tools/consensus/dawid-skene.ts';
import { takeMajorityVote } from '../../../src/tools/consensus/majority-vote.ts';
import { buildVoteMatrix } from '../../../src/tools/consensus/vote-matrix.ts';
import type { LabelledVote } from '../../../src/tools/consensus/vote-matrix.ts';
import type { SimulatedRater } from './simulated-raters.ts';
import { simulateRaters } from './simulated-raters.ts';

/**
 * Two reliable raters among three weak ones: the majority is often carried by the weak, while EM
 * learns whom to trust. 4,000 items, prior 0.3, 15% of votes missing, seeded.
 */
const RATERS: readonly SimulatedRater[] = [
  { name: 'expert', sensitivity: 0.95, specificity: 0.95 },
  { name: 'good', sensitivity: 0.9, specificity: 0.92 },
  { name: 'weak1', sensitivity: 0.65, specificity: 0.6 },
  { name: 'weak2', sensitivity: 0.6, specificity: 0.65 },
  { name: 'weak3', sensitivity: 0.55, specificity: 0.7 },
];
const PRIOR = 0.3;
/**
 * Stated tolerance: every estimated sensitivity and specificity within 0.05 (absolute) of the rate
 * the rater was simulated with. Each rate rests on ~1,000 (sensitivity) to ~2,400 (specificity)
 * votes, so sampling error alone is ~0.01-0.015 (one SE); 0.05 leaves >3 SE for it.
 */
const RATE_TOLERANCE = 0.05;

describe('Dawid-Skene EM on simulated raters with known accuracies', () => {
  const sim = simulateRaters({ items: 4000, prior: PRIOR, raters: RATERS, missing: 0.15, seed: 20261126 });
  const m = buildVoteMatrix(
    sim.votes,
    RATERS.map((r) => r.name),
  );
  const truthOf = (i: number): 0 | 1 => sim.truth[Number(m.items[i]!.slice(1))]!;
  const em = estimateDawidSkene(m);
  const majority = takeMajorityVote(m);

  it('recovers the truth better than majority vote', () => {
    const emRight = m.items.filter((_, i) => (em.posteriors[i]! >= 0.5 ? 1 : 0) === truthOf(i)).length / m.items.length;
    // Ties broken towards 1, the same rule EM's decision uses at exactly 0.5.
    const majorityRight = m.items.filter((_, i) => {
      const d = majority[i]!.decision;
      return (d === 'tie' ? 1 : d) === truthOf(i);
    }).length / m.items.length;
    assert.ok(emRight >= 0.93, `EM accuracy ${emRight}`);
    assert.ok(emRight >= majorityRight + 0.05, `EM ${emRight} vs majority ${majorityRight}`);
  });

  it('settles majority ties mostly right (they start at 0.5 and EM weighs who voted)', () => {
    const ties = majority.flatMap((d, i) => (d.decision === 'tie' ? [i] : []));
    assert.ok(ties.length > 100, `${ties.length} ties`);
    const right = ties.filter((i) => (em.posteriors[i]! >= 0.5 ? 1 : 0) === truthOf(i)).length / ties.length;
    assert.ok(right >= 0.75, `ties right ${right}`);
  });

  it(`estimates every rater's sensitivity and specificity within ${RATE_TOLERANCE}, and the prior`, () => {
    em.raters.forEach((r, j) => {
      const want = RATERS[j]!;
      assert.ok(Math.abs(r.sensitivity - want.sensitivity) <= RATE_TOLERANCE, `${want.name} sensitivity ${r.sensitivity} vs ${want.sensitivity}`);
      assert.ok(Math.abs(r.specificity - want.specificity) <= RATE_TOLERANCE, `${want.name} specificity ${r.specificity} vs ${want.specificity}`);
    });
    assert.ok(Math.abs(em.prior - PRIOR) <= 0.03, `prior ${em.prior}`);
  });

  it('converges, and its objective (log-likelihood + log-prior) never decreases', () => {
    assert.equal(em.converged, true);
    assert.ok(em.iterations < 500);
    assert.equal(em.objective.length, em.iterations);
    em.objective.forEach((o, k) => {
      if (k > 0) {
        assert.ok(o >= em.objective[k - 1]! - 1e-9 * Math.abs(o), `objective fell at iteration ${k + 1}: ${em.objective[k - 1]} -> ${o}`);
      }
    });
    assert.ok(em.posteriors.every((p) => p >= 0 && p <= 1));
  });

  it('stops at the iteration cap and says it did not converge', () => {
    const capped = estimateDawidSkene(m, { maxIterations: 2 });
    assert.equal(capped.iterations, 2);
    assert.equal(capped.converged, false);
  });
});

describe('Dawid-Skene EM smoothing and small inputs', () => {
  // Three consistent raters on 40 items; "newcomer" voted twice, both times with the others.
  const votes = Array.from({ length: 40 }, (_, i) => ['a', 'b', 'c'].map((rater): LabelledVote => ({ item: `x${i}`, rater, value: i % 4 === 0 ? 1 : 0 }))).flat();
  votes.push({ item: 'x0', rater: 'newcomer', value: 1 }, { item: 'x1', rater: 'newcomer', value: 0 });
  const m = buildVoteMatrix(votes);

  it('gives a rater with two votes rates strictly between 0 and 1 (add-one by default)', () => {
    const newcomer = estimateDawidSkene(m).raters[m.raters.indexOf('newcomer')]!;
    assert.equal(newcomer.votes, 2);
    // One positive and one negative item, each agreed with: (1 + 1) / (1 + 2).
    assert.ok(Math.abs(newcomer.sensitivity - 2 / 3) < 1e-3, String(newcomer.sensitivity));
    assert.ok(Math.abs(newcomer.specificity - 2 / 3) < 1e-3, String(newcomer.specificity));
  });

  it('without smoothing the same rater would get rates of 1: why smoothing is on', () => {
    const newcomer = estimateDawidSkene(m, { smoothing: 1e-9 }).raters[m.raters.indexOf('newcomer')]!;
    assert.ok(newcomer.sensitivity > 0.999 && newcomer.specificity > 0.999);
  });

  it('follows unanimous raters', () => {
    const em = estimateDawidSkene(m);
    m.items.forEach((item, i) => { assert.equal(em.posteriors[i]! >= 0.5 ? 1 : 0, Number(item.slice(1)) % 4 === 0 ? 1 : 0, item); });
  });
});
