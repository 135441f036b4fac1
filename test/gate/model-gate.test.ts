import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_IMAGE_GATE } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import { describeModelGate, judgeModelGate } from '../../src/gate/model-gate.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';

const config = await loadGateConfig(DEFAULT_IMAGE_GATE);
const manifest: Pick<ModelManifest, 'gate' | 'outputs'> = {
  outputs: {
    bcc: { name: 'bcc' },
    patterns: { name: 'patterns' },
    cam: { name: 'cam', shape: ['N', 8, 7, 7], channels: [] },
    dermoscopy: { name: 'dermoscopy' },
    ood: { name: 'ood' },
  },
  gate: { modality: { output: 'dermoscopy', threshold: 0.4 }, ood: { output: 'ood', threshold: 12 } },
};

describe('model gate', () => {
  it('accepts a dermoscopic, in-distribution image', () => {
    assert.deepEqual(judgeModelGate({ dermoscopy: 0.9, ood: 5 }, manifest, config), { rejections: [], warnings: [] });
    // At the thresholds counts as accepted.
    assert.deepEqual(judgeModelGate({ dermoscopy: 0.4, ood: 12 }, manifest, config), { rejections: [], warnings: [] });
  });

  it('refuses a photo the modality head calls not dermoscopic, in words with the numbers', () => {
    const [r, ...rest] = judgeModelGate({ dermoscopy: 0.1, ood: 5 }, manifest, config).rejections;
    assert.equal(rest.length, 0);
    assert.equal(r?.code, 'not-dermoscopic');
    assert.equal(r.measured, 0.1);
    assert.equal(r.limit, 0.4);
    assert.ok(r.text.length > 20);
    assert.doesNotMatch(r.text, /\{(measured|limit)\}/);
  });

  it('refuses an image far from the training distribution', () => {
    assert.deepEqual(
      judgeModelGate({ dermoscopy: 0.9, ood: 30 }, manifest, config).rejections.map((r) => r.code),
      ['out-of-distribution'],
    );
  });

  it('only warns, with the same words, when the file sets the model checks to warn', () => {
    const v = judgeModelGate({ dermoscopy: 0.1, ood: 30 }, manifest, withModelChecks(config, 'warn'));
    assert.deepEqual(v.rejections, []);
    assert.deepEqual(
      v.warnings.map((r) => r.code),
      ['not-dermoscopic', 'out-of-distribution'],
    );
    assert.deepEqual(judgeModelGate({ dermoscopy: 0.1, ood: 30 }, manifest, withModelChecks(config, 'off')), { rejections: [], warnings: [] });
  });

  it('ships with both model checks refusing', () => {
    assert.deepEqual(config.modelChecks, { 'not-dermoscopic': 'reject', 'out-of-distribution': 'reject' });
  });

  it('fails closed on a broken (NaN) output', () => {
    assert.deepEqual(
      judgeModelGate({ dermoscopy: Number.NaN, ood: Number.NaN }, manifest, config).rejections.map((r) => r.code),
      ['not-dermoscopic', 'out-of-distribution'],
    );
  });

  it('gates nothing for a model without gate outputs, and says so', () => {
    const bare = { outputs: manifest.outputs, gate: undefined };
    assert.deepEqual(judgeModelGate({}, bare, config), { rejections: [], warnings: [] });
    assert.match(describeModelGate({ outputs: { ...manifest.outputs, dermoscopy: undefined, ood: undefined } }), /cannot check whether an image is dermoscopic/);
    assert.match(describeModelGate(manifest), /dermoscopic and whether it resembles the training images/);
  });
});
