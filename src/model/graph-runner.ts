import type { InferenceSession } from 'onnxruntime-node';

/** How the ONNX Runtime session runs; see openModel for the defaults and why. */
export interface SessionTuning {
  /** Intra-op threads. */
  readonly threads: number;
  /** Whether idle intra-op threads busy-wait for the next parallel section. */
  readonly spinning: boolean;
}

export function sessionOptions(t: SessionTuning): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: t.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: t.spinning ? '1' : '0' } } },
  };
}

/** One float32 input tensor. */
export interface GraphInput {
  readonly name: string;
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * An ONNX graph ready to run, wherever its session lives (this thread or a worker): its I/O
 * metadata, for the manifest check, and one call per batch returning the named outputs' data.
 */
export interface GraphRunner {
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  /** `input.data` may be handed over (transferred) to the session: the caller must not reuse it. */
  run(input: GraphInput, outputs: readonly string[]): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

/** Runs `session.run` and copies out the named float32 outputs. Shared by both runners. */
export async function runSession(session: InferenceSession, tensor: InferenceSession.OnnxValueMapType[string], input: GraphInput, outputs: readonly string[]): Promise<Record<string, Float32Array>> {
  const r = await session.run({ [input.name]: tensor });
  const out: Record<string, Float32Array> = {};
  for (const name of outputs) {
    const data = r[name]?.data;
    if (!(data instanceof Float32Array)) {
      throw new TypeError(`model output ${name} is missing or not float32`);
    }
    out[name] = data;
  }
  return out;
}

/**
 * The session on this thread. onnxruntime-node's `run` is synchronous on the calling thread (it
 * only defers to setImmediate), so inference blocks the event loop for its duration: fine for the
 * CLI, not for the service (see createWorkerRunner).
 */
export async function createInThreadRunner(model: Uint8Array, tuning: SessionTuning): Promise<GraphRunner> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(model, sessionOptions(tuning));
  return {
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    run: (input, outputs) => runSession(session, new ort.Tensor('float32', input.data, [...input.dims]), input, outputs),
    release: () => session.release(),
  };
}
