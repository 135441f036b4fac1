import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureConsistency } from '../../../src/tools/evaluation/consistency.ts';
import type { ModelFindings, PatternFinding, PatternStatus } from '../../../src/model/findings.ts';

function finding(id: string, role: PatternFinding['role'], status: PatternStatus): PatternFinding {
  return status === 'not-assessed'
    ? { id, display: id, role, status }
    : { id, display: id, role, status, probability: status === 'present' ? 0.9 : 0.1, threshold: 0.5 };
}

function image(bccProbability: number, arborizing: PatternStatus, pigment: PatternStatus, ulceration: PatternStatus = 'not-assessed'): ModelFindings {
  return {
    bccProbability,
    bccScore: bccProbability,
    patterns: [
      finding('pigment_network', 'negative', pigment),
      finding('ulceration', 'positive', ulceration),
      finding('arborizing_telangiectasia', 'positive', arborizing),
    ],
  };
}

describe('measureConsistency', () => {
  const images: ModelFindings[] = [
    image(0.9, 'present', 'absent'), // called BCC, positive pattern
    image(0.7, 'absent', 'absent'), // called BCC, nothing
    image(0.5, 'absent', 'present'), // at the threshold: called BCC; pigment network present
    image(0.2, 'absent', 'present'), // called non-BCC with pigment network
    image(0.1, 'absent', 'absent'), // called non-BCC, nothing
    image(0.3, 'present', 'absent'), // called non-BCC, positive pattern
  ];

  it('computes the three rates with their counts', () => {
    const r = measureConsistency(images, 0.5);
    assert.equal(r.threshold, 0.5);
    assert.deepEqual([r.predictedBccWithPositivePattern.k, r.predictedBccWithPositivePattern.n], [1, 3]);
    assert.deepEqual([r.predictedNonBccWithPigmentNetwork.k, r.predictedNonBccWithPigmentNetwork.n], [1, 3]);
    assert.deepEqual([r.pigmentNetworkPredictedNonBcc.k, r.pigmentNetworkPredictedNonBcc.n], [1, 2]);
    assert.equal(r.pigmentNetworkPredictedNonBcc.value, 0.5);
  });

  it('never counts a not-assessed pattern as evidence, whatever its head outputs', () => {
    const untrainedHigh: ModelFindings = {
      bccProbability: 0.9,
      bccScore: 0.9,
      patterns: [
        { id: 'ulceration', display: 'Ulceration', role: 'positive', status: 'not-assessed', probability: 0.99, threshold: 0.5 },
        { id: 'pigment_network', display: 'Pigment network', role: 'negative', status: 'absent', probability: 0.1, threshold: 0.5 },
      ],
    };
    const r = measureConsistency([untrainedHigh], 0.5);
    assert.deepEqual([r.predictedBccWithPositivePattern.k, r.predictedBccWithPositivePattern.n], [0, 1]);
  });

  it('gives NaN rates (n = 0) when nothing is called BCC', () => {
    const r = measureConsistency([image(0.1, 'absent', 'absent')], 0.5);
    assert.equal(r.predictedBccWithPositivePattern.n, 0);
    assert.ok(Number.isNaN(r.predictedBccWithPositivePattern.value));
  });
});
