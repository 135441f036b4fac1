import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OperationOutcomeError, badRequest } from '../outcomes.ts';
import type { ModelManifest } from './manifest.ts';
import { loadManifest } from './manifest.ts';
import { checkModelIo } from './model-io.ts';

/** One image's raw outputs. */
export interface ModelOutputs {
  readonly bcc: number;
  /** Probabilities in manifest pattern order (untrained ones included; see readFindings). */
  readonly patterns: Float32Array;
  /** Raw activation maps, channels x height x width (channel 0 = BCC). */
  readonly cam: Float32Array;
}

export interface BccModel {
  readonly manifest: ModelManifest;
  readonly cam: { readonly channels: number; readonly height: number; readonly width: number };
  /** Runs preprocessed NCHW images (one Float32Array of 3*size*size each) in batches of maxBatch. */
  infer(images: readonly Float32Array[]): Promise<ModelOutputs[]>;
  close(): Promise<void>;
}

export interface OpenModelOptions {
  /** Intra-op threads; default 2 (the service's target is a 2-core machine). */
  readonly threads?: number;
  readonly maxBatch?: number;
  /**
   * Whether idle intra-op threads busy-wait for the next parallel section; default false. Spinning
   * shaves a little latency on an idle machine, but while hooks decode images on the same cores it
   * burns the CPU they need: about twice the CPU per image at 2 threads (bench/README.md).
   */
  readonly spinning?: boolean;
}

/** Loads manifest + ONNX, verifies the file's sha256 and the graph's I/O against the manifest. */
export async function openModel(manifestPath: string, opts: OpenModelOptions = {}): Promise<BccModel> {
  const manifest = await loadManifest(manifestPath);
  const onnxPath = join(dirname(manifestPath), manifest.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(onnxPath);
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`model file ${onnxPath} named by the manifest cannot be read`, 'manifest.file'), err);
  }
  const sum = createHash('sha256').update(bytes).digest('hex');
  if (sum !== manifest.sha256) {
    throw new OperationOutcomeError(badRequest(`sha256 of ${onnxPath} is ${sum}, manifest says ${manifest.sha256}`, 'manifest.sha256'));
  }
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: opts.threads ?? 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } },
  });
  checkModelIo(manifest, session.inputMetadata, session.outputMetadata);
  return createModel(session, manifest, opts.maxBatch ?? 8);
}

function createModel(session: ort.InferenceSession, manifest: ModelManifest, maxBatch: number): BccModel {
  const size = manifest.input.size;
  const per = 3 * size * size;
  const [, channels, height, width] = manifest.outputs.cam.shape;
  const camLen = channels * height * width;
  const nPat = manifest.patterns.length;

  async function runChunk(chunk: readonly Float32Array[]): Promise<ModelOutputs[]> {
    const n = chunk.length;
    const data = new Float32Array(n * per);
    chunk.forEach((img, k) => {
      if (img.length !== per) {
        throw new RangeError(`image ${k} has ${img.length} values, the model takes ${per}`);
      }
      data.set(img, k * per);
    });
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, [n, 3, size, size]) };
    const r = await session.run(feeds);
    const bcc = r[manifest.outputs.bcc.name]?.data as Float32Array;
    const pat = r[manifest.outputs.patterns.name]?.data as Float32Array;
    const cam = r[manifest.outputs.cam.name]?.data as Float32Array;
    return Array.from({ length: n }, (_, k) => ({
      bcc: bcc[k] ?? Number.NaN,
      patterns: pat.slice(k * nPat, (k + 1) * nPat),
      cam: cam.slice(k * camLen, (k + 1) * camLen),
    }));
  }

  return {
    manifest,
    cam: { channels, height, width },
    async infer(images) {
      const out: ModelOutputs[] = [];
      for (let i = 0; i < images.length; i += maxBatch) {
        out.push(...(await runChunk(images.slice(i, i + maxBatch))));
      }
      return out;
    },
    close: () => session.release(),
  };
}
