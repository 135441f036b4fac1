import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OperationOutcomeError, badRequest } from '../common/outcomes.ts';
import type { ModelManifest } from './manifest.ts';
import { loadManifest } from './manifest.ts';
import { checkModelIo } from './model-io.ts';
import { applyLearnedHeads, hasLearnedHeads, poolFeatures } from './learned-heads.ts';
import type { GraphRunner } from './graph-runner.ts';
import { createInThreadRunner } from './graph-runner.ts';
import { createWorkerRunner } from './worker-runner.ts';

/** One image's raw outputs. */
export interface ModelOutputs {
  readonly bcc: number;
  /** Probabilities in manifest pattern order (untrained ones included; see readFindings). */
  readonly patterns: Float32Array;
  /** Raw activation maps, channels x height x width (channel 0 = BCC). */
  readonly cam: Float32Array;
  /** Modality gate: probability that the input is dermoscopic (models with a `dermoscopy` output). */
  readonly dermoscopy?: number;
  /** Out-of-distribution gate: feature distance from the training images (models with an `ood` output). */
  readonly ood?: number;
  /** Spatial means of the `features` map (opened with `pooledFeatures`): what `npm run learn` fits heads on. */
  readonly pooledFeatures?: Float32Array;
}

export interface BccModel {
  readonly manifest: ModelManifest;
  readonly cam: { readonly channels: number; readonly height: number; readonly width: number };
  /** Runs preprocessed NCHW images (one Float32Array of 3*size*size each) in batches of maxBatch. */
  infer(images: readonly Float32Array[]): Promise<ModelOutputs[]>;
  /**
   * The same network under another manifest (a learned candidate or an earlier version): no new
   * session, so switching is instant. Refused unless the manifest names this network (sha256) and
   * its inputs and outputs match the graph. Closing the view leaves the network open.
   */
  withManifest(manifest: ModelManifest): BccModel;
  close(): Promise<void>;
}

export interface OpenModelOptions {
  /**
   * Intra-op threads; default 1. On the 2-core target, 2 threads are 0-10% faster at batch 1 for
   * 50-80% more CPU per image, and concurrent hooks need that CPU for decoding: 1 thread answers
   * more hooks per second at the same latency (bench/README.md).
   */
  readonly threads?: number;
  readonly maxBatch?: number;
  /**
   * Whether idle intra-op threads busy-wait for the next parallel section; default false. Spinning
   * shaves a little latency on an idle machine, but while hooks decode images on the same cores it
   * burns the CPU they need: about twice the CPU per image at 2 threads (bench/README.md).
   */
  readonly spinning?: boolean;
  /**
   * Run the session in a worker thread; default true. onnxruntime-node runs inference synchronously
   * on the calling thread, so in-thread inference stalls every other request for its duration.
   */
  readonly worker?: boolean;
  /** Also return each image's pooled `features` (the manifest must declare that output). */
  readonly pooledFeatures?: boolean;
}

/** Loads manifest + ONNX, verifies the file's sha256 and the graph's I/O against the manifest. */
export async function openModel(manifestPath: string, opts: OpenModelOptions = {}): Promise<BccModel> {
  // ONNX Runtime's telemetry runs a recursive regex over /proc/self/cmdline when it starts: a long
  // command line (`npm run analyze` over ~500 image paths) overflowed the stack (exit 139). It would
  // also scan a command line full of patient image paths. Off unless the operator set it.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const manifest = await loadManifest(manifestPath);
  const onnxPath = resolve(dirname(manifestPath), manifest.file);
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
  const tuning = { threads: opts.threads ?? 1, spinning: opts.spinning ?? false };
  const runner = opts.worker === false ? await createInThreadRunner(bytes, tuning) : await createWorkerRunner(bytes, tuning);
  try {
    checkModelIo(manifest, runner.inputMetadata, runner.outputMetadata);
  } catch (err) {
    await runner.release();
    throw err;
  }
  return createModel(runner, manifest, { maxBatch: opts.maxBatch ?? 8, pooledFeatures: opts.pooledFeatures ?? false, owner: true });
}

interface ModelView {
  readonly maxBatch: number;
  readonly pooledFeatures: boolean;
  /** Whether close() releases the runner (the opened model) or not (a withManifest view). */
  readonly owner: boolean;
}

function createModel(runner: GraphRunner, manifest: ModelManifest, view: ModelView): BccModel {
  const { maxBatch } = view;
  const size = manifest.input.size;
  const per = 3 * size * size;
  const [, channels, height, width] = manifest.outputs.cam.shape;
  const camLen = channels * height * width;
  const nPat = manifest.patterns.length;
  const names = [manifest.outputs.bcc.name, manifest.outputs.patterns.name, manifest.outputs.cam.name];
  const gateNames = [manifest.outputs.dermoscopy?.name, manifest.outputs.ood?.name];
  const learned = hasLearnedHeads(manifest);
  const featureSpec = manifest.outputs.features;
  if ((learned || view.pooledFeatures) && !featureSpec) {
    throw new OperationOutcomeError(badRequest('learned heads and pooled features need outputs.features in the manifest', 'manifest.outputs.features'));
  }
  const featureName = learned || view.pooledFeatures ? featureSpec?.name : undefined;
  const featLen = featureSpec ? featureSpec.shape[1] * featureSpec.shape[2] * featureSpec.shape[3] : 0;
  const fetch = [...names, ...gateNames.filter((n): n is string => n !== undefined), ...(featureName ? [featureName] : [])];

  async function runChunk(chunk: readonly Float32Array[]): Promise<ModelOutputs[]> {
    const n = chunk.length;
    const data = new Float32Array(n * per);
    chunk.forEach((img, k) => {
      if (img.length !== per) {
        throw new RangeError(`image ${k} has ${img.length} values, the model takes ${per}`);
      }
      data.set(img, k * per);
    });
    const r = await runner.run({ name: manifest.input.name, data, dims: [n, 3, size, size] }, fetch);
    const [bcc, pat, cam] = names.map((name) => r[name] ?? new Float32Array(0));
    const [derm, ood] = gateNames.map((name) => (name === undefined ? undefined : r[name]));
    const feats = featureName === undefined ? undefined : r[featureName];
    return Array.from({ length: n }, (_, k) => {
      const patterns = pat?.slice(k * nPat, (k + 1) * nPat) ?? new Float32Array(0);
      const camK = cam?.slice(k * camLen, (k + 1) * camLen) ?? new Float32Array(0);
      const f = feats?.subarray(k * featLen, (k + 1) * featLen);
      if (learned && f) {
        applyLearnedHeads(manifest, f, patterns, camK);
      }
      return {
        bcc: bcc?.[k] ?? Number.NaN,
        patterns,
        cam: camK,
        ...(derm ? { dermoscopy: derm[k] ?? Number.NaN } : {}),
        ...(ood ? { ood: ood[k] ?? Number.NaN } : {}),
        ...(view.pooledFeatures && f && featureSpec ? { pooledFeatures: poolFeatures(f, featureSpec.shape[1]) } : {}),
      };
    });
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
    withManifest(next) {
      if (next.sha256 !== manifest.sha256) {
        throw new OperationOutcomeError(badRequest(`model ${next.version} names network sha256 ${next.sha256}; the installed network is ${manifest.sha256}`, 'manifest.sha256'));
      }
      checkModelIo(next, runner.inputMetadata, runner.outputMetadata);
      return createModel(runner, next, { ...view, owner: false });
    },
    close: () => (view.owner ? runner.release() : Promise.resolve()),
  };
}
