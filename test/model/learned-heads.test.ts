import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { toModelInput } from '../../src/imaging/preprocess.ts';
import { readFindings } from '../../src/model/findings.ts';
import { applyLearnedHeads, learnedHeadMap, poolFeatures } from '../../src/model/learned-heads.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import { lesionJpeg } from '../helpers/images.ts';

const installedJson = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));

/** The installed manifest with a learned head on `ulceration` reading feature channels 0..C-1 with the given weights. */
function withLearnedUlceration(weights: number[], bias: number, threshold = 0.5): ModelManifest {
  const json = structuredClone(installedJson);
  json.version = '1.6.0-test';
  const p = json.patterns.find((x: { id: string }) => x.id === 'ulceration');
  Object.assign(p, { trained: true, threshold, head: 'learned', learned: { weights, bias, calibration: { method: 'platt', slope: 1, intercept: 0 } } });
  return parseManifest(json, 'test');
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('learned pattern heads', () => {
  let model: BccModel;
  let input: Float32Array;
  const channels: number = installedJson.outputs.features.shape[1];
  before(async () => {
    model = await openModel(DEFAULT_MODEL_MANIFEST, { pooledFeatures: true });
    input = (await toModelInput(await decodeDermoscopy(await lesionJpeg(320, 240)), model.manifest.input)).tensor;
  });
  after(async () => {
    await model.close();
  });

  it('the installed network exposes pooled features of the declared width', async () => {
    const [out] = await model.infer([input]);
    assert.equal(out?.pooledFeatures?.length, channels);
    assert.ok(out.pooledFeatures.some((v) => v !== 0));
  });

  it('a learned head reads the features: probability = sigmoid(w . pooled + b), map mean = logit, BCC untouched', async () => {
    const [base] = await model.infer([input]);
    assert.ok(base?.pooledFeatures);
    const weights = Array.from({ length: channels }, (_, c) => (c % 7 === 0 ? 0.05 : c % 11 === 0 ? -0.03 : 0));
    const manifest = withLearnedUlceration(weights, -0.2);
    const view = model.withManifest(manifest);
    const [out] = await view.infer([input]);
    assert.ok(out);
    const logit = weights.reduce((s, w, c) => s + w * (base.pooledFeatures?.[c] ?? 0), -0.2);
    const j = manifest.patterns.findIndex((p) => p.id === 'ulceration');
    assert.ok(Math.abs((out.patterns[j] ?? 0) - sigmoid(logit)) < 1e-5);
    const [, , h, w] = manifest.outputs.cam.shape;
    const map = out.cam.slice((j + 1) * h * w, (j + 2) * h * w);
    assert.ok(Math.abs(map.reduce((a, b) => a + b, 0) / (h * w) - logit) < 1e-4);
    assert.equal(out.bcc, base.bcc, 'learning a pattern never moves the BCC probability');
    assert.deepEqual(Array.from(out.cam.slice(0, h * w)), Array.from(base.cam.slice(0, h * w)));
    const f = readFindings(out, manifest).patterns[j];
    assert.equal(f?.status, (out.patterns[j] ?? 0) >= 0.5 ? 'present' : 'absent');
    await view.close();
    const [again] = await model.infer([input]);
    assert.equal(again?.bcc, base.bcc, 'closing a view leaves the network open');
  });

  it('refuses a manifest naming another network or a head of the wrong width', () => {
    const other = structuredClone(installedJson);
    other.sha256 = '0'.repeat(64);
    assert.throws(() => model.withManifest(parseManifest(other)), (e: unknown) => e instanceof OperationOutcomeError && e.message.includes('installed network'));
    assert.throws(() => withLearnedUlceration([1, 2, 3], 0), (e: unknown) => e instanceof OperationOutcomeError && JSON.stringify(e.outcome).includes('weights'));
    const noFeatures = structuredClone(installedJson);
    delete noFeatures.outputs.features;
    const p = noFeatures.patterns.find((x: { id: string }) => x.id === 'ulceration');
    Object.assign(p, { trained: true, threshold: 0.5, learned: { weights: [1], bias: 0, calibration: { method: 'platt', slope: 1, intercept: 0 } } });
    assert.throws(() => parseManifest(noFeatures), (e: unknown) => e instanceof OperationOutcomeError && /outputs.features/.test(JSON.stringify(e.outcome)));
  });

  it('pure parts: map, pooling and write-back agree', () => {
    const m = withLearnedUlceration(Array.from({ length: channels }, (_, c) => (c === 3 ? 2 : 0)), 1);
    const [, c, h, w] = m.outputs.cam.shape;
    const feats = new Float32Array(channels * h * w).map((_, i) => (i % (h * w)) / 10);
    const head = m.patterns.find((p) => p.id === 'ulceration')?.learned;
    assert.ok(head);
    const map = learnedHeadMap(head, feats, h * w);
    assert.equal(map[5], 1 + 2 * 0.5);
    const pooled = poolFeatures(feats, channels);
    assert.ok(Math.abs((pooled[3] ?? 0) - 2.4) < 1e-6);
    const patterns = new Float32Array(m.patterns.length).fill(0.25);
    const cam = new Float32Array(c * h * w);
    applyLearnedHeads(m, feats, patterns, cam);
    const j = m.patterns.findIndex((p) => p.id === 'ulceration');
    assert.ok(Math.abs((patterns[j] ?? 0) - sigmoid(1 + 2 * 2.4)) < 1e-6);
    assert.equal(patterns[0], 0.25, 'shipped heads untouched');
    assert.throws(() => { applyLearnedHeads(m, feats, patterns, new Float32Array(3)); }, RangeError);
  });
});
