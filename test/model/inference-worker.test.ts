/**
 * The model session in a worker thread (the default) must answer exactly like the session on the
 * calling thread, match concurrent calls to their own images, and keep one bad call from harming
 * the others.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_MANIFEST, PROJECT_ROOT } from '../../src/config.ts';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { toModelInput } from '../../src/imaging/preprocess.ts';
import type { BccModel } from '../../src/model/session.ts';
import { openModel } from '../../src/model/session.ts';
import { createWorkerRunner } from '../../src/model/worker-runner.ts';
import { lesionJpeg, solidJpeg } from '../helpers/images.ts';

describe('model session in a worker thread', () => {
  let inWorker: BccModel;
  let inThread: BccModel;
  let tensors: Float32Array[];
  before(async () => {
    [inWorker, inThread] = await Promise.all([openModel(DEFAULT_MODEL_MANIFEST), openModel(DEFAULT_MODEL_MANIFEST, { worker: false })]);
    const bytes = await Promise.all([lesionJpeg(300, 200, 1), lesionJpeg(200, 300, 2), solidJpeg(64, 64, [200, 150, 120]), lesionJpeg(256, 256, 3)]);
    tensors = await Promise.all(bytes.map(async (b) => (await toModelInput(await decodeDermoscopy(b), inWorker.manifest.input)).tensor));
  });
  after(async () => {
    await Promise.all([inWorker.close(), inThread.close()]);
  });

  it('gives the same outputs as the session on the calling thread', async () => {
    const [a, b] = await Promise.all([inWorker.infer(tensors), inThread.infer(tensors)]);
    assert.equal(a.length, tensors.length);
    a.forEach((o, k) => {
      const ref = b[k]!;
      assert.equal(o.bcc, ref.bcc, `image ${k}`);
      assert.deepEqual(o.patterns, ref.patterns);
      assert.deepEqual(o.cam, ref.cam);
    });
  });

  it('leaves the caller its input tensors intact', async () => {
    const before = tensors[0]!.slice();
    await inWorker.infer([tensors[0]!]);
    assert.equal(tensors[0]!.length, before.length);
    assert.deepEqual(tensors[0], before);
  });

  it('answers concurrent calls each with its own images, whatever order they finish in', async () => {
    const alone = await Promise.all(tensors.map(async (t) => (await inThread.infer([t]))[0]!.bcc));
    const calls = [[0], [1, 2], [3], [2, 0, 1, 3], [1]].map((ks) => ({ ks, p: inWorker.infer(ks.map((k) => tensors[k]!)) }));
    for (const { ks, p } of calls) {
      const out = await p;
      assert.deepEqual(
        out.map((o) => o.bcc),
        ks.map((k) => alone[k]),
      );
    }
  });

  it('rejects a bad call without disturbing the ones around it', async () => {
    const [good1, bad, good2] = await Promise.allSettled([inWorker.infer([tensors[0]!]), inWorker.infer([new Float32Array(10)]), inWorker.infer([tensors[1]!])]);
    assert.equal(good1.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
    assert.match(String(bad.reason), /has 10 values/);
    assert.equal(good2.status, 'fulfilled');
  });

  it('answers a request the session cannot run with an error, and keeps serving', async () => {
    const runner = await createWorkerRunner(await readFile(join(PROJECT_ROOT, 'models', inWorker.manifest.file)), { threads: 1, spinning: false });
    try {
      const outputs = ['bcc'] as const;
      const size = inWorker.manifest.input.size;
      // 10 values for a [1,3,size,size] tensor: ORT refuses it inside the worker.
      await assert.rejects(runner.run({ name: 'image', data: new Float32Array(10), dims: [1, 3, size, size] }, outputs), /inference failed/);
      const ok = await runner.run({ name: 'image', data: tensors[0]!.slice(), dims: [1, 3, size, size] }, outputs);
      assert.equal(ok.bcc?.length, 1);
    } finally {
      await runner.release();
    }
  });

  it('refuses work once closed, including a call still in flight', async () => {
    const model = await openModel(DEFAULT_MODEL_MANIFEST);
    const inFlight = assert.rejects(model.infer([tensors[0]!, tensors[1]!, tensors[2]!]), /closed/);
    await model.close();
    await inFlight;
    await assert.rejects(model.infer([tensors[0]!]), /closed/);
  });
});
