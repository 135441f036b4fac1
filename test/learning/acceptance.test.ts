import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptanceInput } from '../../src/learning/acceptance.ts';
import { decideAcceptance } from '../../src/learning/acceptance.ts';

function good(): AcceptanceInput {
  const labels = [...new Array<number>(40).fill(1), ...new Array<number>(50).fill(0)];
  const bcc = labels.map((_, i) => (i % 3 === 0 ? 0.9 : 0.1));
  return {
    labels,
    auc: { value: 0.85, ci95: [0.76, 0.92], n: 90, positives: 40 },
    installedBcc: bcc,
    candidateBcc: [...bcc],
    bccThreshold: 0.5,
    bccPatternBefore: bcc.map((_, i) => i % 2 === 0),
    bccPatternAfter: bcc.map(() => true),
  };
}

function codes(input: AcceptanceInput): string[] {
  return decideAcceptance(input).reasons.map((r) => r.code);
}

describe('decideAcceptance: the learned head replaces the installed one only when every check passes', () => {
  it('accepts a good case and reports consistency before and after', () => {
    const a = decideAcceptance(good());
    assert.equal(a.accepted, true);
    assert.deepEqual(a.reasons, []);
    assert.equal(a.positives, 40);
    assert.equal(a.negatives, 50);
    assert.deepEqual(a.bccOutputs, { compared: 90, differing: 0, identical: true });
    // 30 images called BCC (i % 3 === 0); before: even i among them = 15; after: all 30.
    assert.equal(a.consistency.before.k, 15);
    assert.equal(a.consistency.before.n, 30);
    assert.equal(a.consistency.after.k, 30);
    assert.equal(a.consistency.change, 0.5);
    assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  });

  it('refuses fewer than 30 positives', () => {
    const g = good();
    const labels = g.labels.map((y, i) => (i < 11 ? 0 : y)); // 29 positives, 61 negatives
    assert.deepEqual(codes({ ...g, labels }), ['too-few-positives']);
  });

  it('refuses fewer than 30 negatives', () => {
    const g = good();
    const labels = g.labels.map((y, i) => (i >= 69 ? 1 : y)); // 61 positives, 29 negatives
    assert.deepEqual(codes({ ...g, labels }), ['too-few-negatives']);
  });

  it('refuses an AUC whose CI starts under 0.70 (and a NaN bound)', () => {
    const g = good();
    assert.deepEqual(codes({ ...g, auc: { ...g.auc, ci95: [0.69, 0.9] } }), ['auc-too-low']);
    assert.deepEqual(codes({ ...g, auc: { ...g.auc, ci95: [Number.NaN, Number.NaN] } }), ['auc-too-low']);
    assert.deepEqual(codes({ ...g, auc: { ...g.auc, ci95: [0.7, 0.9] } }), []);
  });

  it('refuses any change of the BCC output, however small', () => {
    const g = good();
    const candidateBcc = Array.from(g.installedBcc);
    candidateBcc[7] = candidateBcc[7]! + 1e-12;
    const a = decideAcceptance({ ...g, candidateBcc });
    assert.deepEqual(a.reasons.map((r) => r.code), ['bcc-outputs-changed']);
    assert.deepEqual(a.bccOutputs, { compared: 90, differing: 1, identical: false });
    assert.equal(a.accepted, false);
  });

  it('lists every reason that applies', () => {
    const g = good();
    const a = decideAcceptance({ ...g, labels: g.labels.map(() => 1), auc: { ...g.auc, ci95: [0.5, 0.8] }, candidateBcc: Array.from(g.installedBcc, () => 0) });
    assert.deepEqual(a.reasons.map((r) => r.code), ['too-few-negatives', 'auc-too-low', 'bcc-outputs-changed']);
  });
});
