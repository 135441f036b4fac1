import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../../src/config.ts';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { toModelInput } from '../../src/imaging/preprocess.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { checkModelIo } from '../../src/model/model-io.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';
import { lesionJpeg, solidJpeg } from '../helpers/images.ts';

const manifestJson = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));

describe('ONNX model session', () => {
  let model: BccModel;
  before(async () => {
    model = await openModel(DEFAULT_MODEL_MANIFEST);
  });
  after(async () => {
    await model.close();
  });

  it('returns probabilities and maps of the manifest shapes', async () => {
    const img = await decodeDermoscopy(await lesionJpeg(320, 240));
    const input = await toModelInput(img, model.manifest.input);
    const [out] = await model.infer([input.tensor]);
    assert.ok(out);
    assert.ok(out.bcc >= 0 && out.bcc <= 1);
    assert.equal(out.patterns.length, model.manifest.patterns.length);
    assert.ok(out.patterns.every((p) => p >= 0 && p <= 1));
    const [, c, h, w] = model.manifest.outputs.cam.shape;
    assert.equal(out.cam.length, c * h * w);
    // The logit is the spatial mean of the map: sigmoid(mean(cam[0])) is the BCC probability.
    const mean = out.cam.slice(0, h * w).reduce((a, b) => a + b, 0) / (h * w);
    assert.ok(Math.abs(1 / (1 + Math.exp(-mean)) - out.bcc) < 1e-4);
  });

  it('gives each image the same result in a batch as alone, across batch chunks', async () => {
    const bytes = await Promise.all([lesionJpeg(300, 200, 1), lesionJpeg(200, 300, 2), solidJpeg(64, 64, [200, 150, 120]), lesionJpeg(256, 256, 3)]);
    const inputs = await Promise.all(bytes.map(async (b) => (await toModelInput(await decodeDermoscopy(b), model.manifest.input)).tensor));
    const alone = await Promise.all(inputs.map(async (t) => (await model.infer([t]))[0]!));
    const many = await model.infer([...inputs, ...inputs, ...inputs]); // 12 > maxBatch 8: two chunks
    assert.equal(many.length, 12);
    many.forEach((o, k) => {
      const ref = alone[k % 4]!;
      assert.ok(Math.abs(o.bcc - ref.bcc) < 1e-5, `image ${k}`);
      assert.ok(o.cam.every((v, i) => Math.abs(v - (ref.cam[i] ?? Number.NaN)) < 1e-3));
    });
    assert.notEqual(alone[0]!.bcc, alone[2]!.bcc);
  });

  it('rejects an input of the wrong length', async () => {
    await assert.rejects(model.infer([new Float32Array(10)]), /has 10 values/);
  });
});

describe('manifest against the ONNX graph', () => {
  let session: ort.InferenceSession;
  before(async () => {
    session = await ort.InferenceSession.create(join(PROJECT_ROOT, 'models', manifestJson.file));
  });
  after(async () => {
    await session.release();
  });

  it('accepts the shipped pair', () => {
    checkModelIo(parseManifest(manifestJson), session.inputMetadata, session.outputMetadata);
  });

  it('names an input the graph lacks', () => {
    const m = parseManifest({ ...manifestJson, input: { ...manifestJson.input, name: 'pixels' } });
    assert.throws(() => { checkModelIo(m, session.inputMetadata, session.outputMetadata); }, /graph has no input "pixels"/);
  });

  it('names a size the graph does not take', () => {
    const m = parseManifest({ ...manifestJson, input: { ...manifestJson.input, size: 256 } });
    assert.throws(() => { checkModelIo(m, session.inputMetadata, session.outputMetadata); }, /is not \[N,3,256,256\]/);
  });

  it('names a CAM size the graph does not produce', () => {
    const cam = { ...manifestJson.outputs.cam, shape: ['N', 8, 14, 14] };
    const features = { ...manifestJson.outputs.features, shape: ['N', 1280, 14, 14] };
    const m = parseManifest({ ...manifestJson, outputs: { ...manifestJson.outputs, cam, features } });
    assert.throws(() => { checkModelIo(m, session.inputMetadata, session.outputMetadata); }, (e: unknown) => {
      assert.ok(e instanceof OperationOutcomeError);
      assert.deepEqual(e.outcome.issue.map((i) => i.expression?.[0]), ['manifest.outputs.cam', 'manifest.outputs.features']);
      return true;
    });
  });
});

describe('openModel', () => {
  it('refuses a model file whose sha256 differs from the manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-model-'));
    try {
      await copyFile(join(PROJECT_ROOT, 'models', manifestJson.file), join(dir, manifestJson.file));
      const bad = { ...manifestJson, sha256: '0'.repeat(64) };
      await writeFile(join(dir, 'm.json'), JSON.stringify(bad));
      await assert.rejects(openModel(join(dir, 'm.json')), /sha256 of .* manifest says 0000/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a manifest whose model file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-model-'));
    try {
      await writeFile(join(dir, 'm.json'), JSON.stringify(manifestJson));
      await assert.rejects(openModel(join(dir, 'm.json')), /cannot be read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
