/**
 * analyzeImages sends each image to the model as soon as it is decoded (one call per image, in
 * whatever order decoding finishes); the answer must still be in input order, a bad image must fail
 * alone, and a failing model must fail the call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { analyzeImages } from '../../src/analysis/analyze-images.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_MODEL_MANIFEST, DEFAULT_RULES } from '../../src/config.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import type { RuleSet } from '../../src/rules/rule-set.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import { lesionJpeg, noiseJpeg, solidPng } from '../helpers/images.ts';
import sharp from 'sharp';
import type { GateConfig } from '../../src/gate/gate-config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';

describe('analyzeImages', () => {
  let model: BccModel;
  let rules: RuleSet;
  before(async () => {
    [model, rules] = await Promise.all([openModel(DEFAULT_MODEL_MANIFEST), loadRuleSet(DEFAULT_RULES)]);
  });
  after(async () => {
    await model.close();
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

  describe('with the image gate', () => {
    let gate: GateConfig;
    before(async () => {
      gate = await loadGateConfig(DEFAULT_IMAGE_GATE);
    });

    function counting(): { model: BccModel; calls: () => number } {
      let n = 0;
      return {
        model: { ...model, infer: (x) => ((n += x.length), model.infer(x)), close: () => Promise.resolve() },
        calls: () => n,
      };
    }

    it('never sends an image that fails a quality check to the model', async () => {
      const blurred = await sharp(await lesionJpeg(640, 480, 9)).blur(12).jpeg().toBuffer();
      const { model: m, calls } = counting();
      const [r] = await analyzeImages({ model: m, rules, gate }, [{ id: 'blurred', bytes: blurred, where: 'Media/1.content' }]);
      assert.ok(r && !r.ok && r.rejection);
      assert.equal(r.rejection.stage, 'quality');
      assert.deepEqual(
        r.rejection.reasons.map((x) => x.code),
        ['blurred'],
      );
      assert.equal(calls(), 0, 'not scored at all');
      assert.equal(r.outcome.issue[0]?.code, 'business-rule');
      assert.deepEqual(r.outcome.issue[0].expression, ['Media/1.content']);
    });

    it('withholds the score of images the model itself calls not dermoscopic or out of distribution', async () => {
      const results = await analyzeImages({ model, rules, gate }, [
        { id: 'noise', bytes: await noiseJpeg(320, 240, 3) },
        // A drawing the installed model (1.5.0) calls not dermoscopic; it accepts some others (README, model gate).
        { id: 'drawing', bytes: await lesionJpeg(640, 480, 1) },
      ]);
      for (const r of results) {
        assert.ok(!r.ok && r.rejection, `${r.id} refused`);
        assert.equal(r.rejection.stage, 'model');
        assert.ok(r.rejection.reasons.length > 0);
        for (const reason of r.rejection.reasons) {
          assert.ok(['not-dermoscopic', 'out-of-distribution'].includes(reason.code), reason.code);
          assert.doesNotMatch(reason.text, /\{/);
        }
      }
      assert.deepEqual(
        results[0]?.ok === false ? results[0].rejection?.reasons.map((x) => x.code) : [],
        ['not-dermoscopic', 'out-of-distribution'],
      );
    });

    it('refuses generated pictures that are not dermoscopy: landscape, colour bars, a disc on blue', async () => {
      const svg = (body: string): Promise<Buffer> =>
        sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240">${body}</svg>`)).jpeg({ quality: 92 }).toBuffer();
      const pictures = {
        landscape: await svg('<rect width="100%" height="60%" fill="#6fa8dc"/><rect y="60%" width="100%" height="40%" fill="#38761d"/><circle cx="250" cy="50" r="25" fill="#ffd966"/><rect x="40" y="90" width="60" height="80" fill="#783f04"/>'),
        bars: await svg(['#f00', '#0f0', '#00f', '#ff0', '#0ff', '#f0f', '#fff', '#000'].map((c, i) => `<rect x="${i * 40}" width="40" height="240" fill="${c}"/>`).join('')),
        disc: await svg('<rect width="100%" height="100%" fill="#1c4587"/><circle cx="160" cy="120" r="60" fill="#e06666"/>'),
      };
      const results = await analyzeImages({ model, rules, gate }, Object.entries(pictures).map(([id, bytes]) => ({ id, bytes })));
      for (const r of results) {
        assert.ok(!r.ok && r.rejection, `${r.id} refused`);
        assert.equal(r.rejection.stage, 'model', r.id);
      }
    });

    it('scores with a warning instead when the model checks are set to warn', async () => {
      const [r] = await analyzeImages({ model, rules, gate: withModelChecks(gate, 'warn') }, [{ id: 'drawing', bytes: await lesionJpeg(640, 480, 1) }]);
      assert.ok(r?.ok);
      assert.ok(r.analysis.warnings.some((w) => w.code === 'out-of-distribution' || w.code === 'not-dermoscopic'));
    });
  });
});
