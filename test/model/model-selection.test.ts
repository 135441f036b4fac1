/**
 * Another model (e.g. the int8 one from training/quantize.py) is selected by BCC_MODEL_MANIFEST; its
 * manifest names its own .onnx and sha256 and carries a `quantization` section, shown on /model-card.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT, modelPaths } from '../../src/config.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { openModel } from '../../src/model/session.ts';

const manifestJson = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8'));
const quantization = { format: 'QDQ', calibration: { images: 300 }, comparison: { aucFp32: 0.97, aucInt8: 0.969 } };

describe('selecting another model', () => {
  it('takes the manifest named by BCC_MODEL_MANIFEST, else the shipped one', () => {
    assert.equal(modelPaths({}).manifest, DEFAULT_MODEL_MANIFEST);
    assert.equal(modelPaths({ BCC_MODEL_MANIFEST: join(PROJECT_ROOT, 'models/bcc-mtl-mnv2-int8.json') }).manifest, join(PROJECT_ROOT, 'models/bcc-mtl-mnv2-int8.json'));
  });

  it('keeps a quantization section in the manifest', () => {
    const m = parseManifest({ ...manifestJson, quantization });
    assert.deepEqual(m.quantization, quantization);
    assert.equal(parseManifest(manifestJson).quantization, undefined);
  });

  it('opens a manifest that names another .onnx file beside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bcc-int8-'));
    try {
      // A stand-in for the int8 file: the fp32 graph under another name, same sha256.
      await copyFile(join(PROJECT_ROOT, 'models', manifestJson.file), join(dir, 'bcc-mtl-mnv2-int8.onnx'));
      await writeFile(join(dir, 'bcc-mtl-mnv2-int8.json'), JSON.stringify({ ...manifestJson, file: 'bcc-mtl-mnv2-int8.onnx', quantization }));
      const model = await openModel(join(dir, 'bcc-mtl-mnv2-int8.json'));
      try {
        assert.equal(model.manifest.file, 'bcc-mtl-mnv2-int8.onnx');
        assert.deepEqual(model.manifest.quantization, quantization);
        const [out] = await model.infer([new Float32Array(3 * model.manifest.input.size ** 2)]);
        assert.ok(out && out.bcc >= 0 && out.bcc <= 1);
      } finally {
        await model.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
