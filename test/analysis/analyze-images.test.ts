/**
 * analyzeImages sends each image to the model as soon as it is decoded (one call per image, in
 * whatever order decoding finishes); the answer must still be in input order, a bad image must fail
 * alone, and a failing model must fail the call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { analyzeImages } from '../../src/analysis/analyze-images.ts';
import { DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../../src/config.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import type { RuleSet } from '../../src/rules/rule-set.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import { lesionJpeg, solidPng } from '../helpers/images.ts';

describe('analyzeImages', () => {
  let model: BccModel;
  let rules: RuleSet;
  before(async () => {
    [model, rules] = await Promise.all([openModel(DEFAULT_MODEL_MANIFEST), loadRuleSet(DEFAULT_RULES)]);
  });
  after(async () => {
    await model?.close();
  });

  it('answers in input order, each image with its own result, whatever order decoding finishes in', async () => {
    // A large image first: it decodes last, so its inference runs after the small ones'.
    const bytes = [await lesionJpeg(2400, 1800, 5), await lesionJpeg(200, 150, 6), await lesionJpeg(320, 240, 7)];
    const together = await analyzeImages({ model, rules }, bytes.map((b, k) => ({ id: `img-${k}`, bytes: b })));
    assert.deepEqual(
      together.map((r) => r.id),
      ['img-0', 'img-1', 'img-2'],
    );
    for (const [k, b] of bytes.entries()) {
      const [alone] = await analyzeImages({ model, rules }, [{ id: 'alone', bytes: b }]);
      const r = together[k];
      assert.ok(r?.ok && alone?.ok);
      assert.equal(r.analysis.findings.bccProbability, alone.analysis.findings.bccProbability, `image ${k}`);
      assert.deepEqual(r.analysis.image, alone.analysis.image);
    }
  });

  it('fails a bad image alone and still analyses the others', async () => {
    const results = await analyzeImages({ model, rules }, [
      { id: 'good', bytes: await lesionJpeg(300, 200, 1) },
      { id: 'broken', bytes: Buffer.from('not an image'), where: 'Media/9.content' },
      { id: 'also-good', bytes: await solidPng(64, 64, [200, 150, 120]) },
    ]);
    assert.deepEqual(
      results.map((r) => [r.id, r.ok]),
      [
        ['good', true],
        ['broken', false],
        ['also-good', true],
      ],
    );
    const broken = results[1];
    assert.ok(broken && !broken.ok);
    assert.deepEqual(broken.outcome.issue[0]?.expression, ['Media/9.content']);
  });

  it('rejects when the model fails: that is not the image’s fault', async () => {
    const failing: BccModel = { ...model, infer: () => Promise.reject(new Error('model is gone')), close: () => Promise.resolve() };
    await assert.rejects(analyzeImages({ model: failing, rules }, [{ id: 'a', bytes: await lesionJpeg(100, 80, 1) }]), /model is gone/);
  });
});
