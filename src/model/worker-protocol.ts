/** Messages between createWorkerRunner (main thread) and inference-worker.ts. */
import type { InferenceSession } from 'onnxruntime-node';
import type { GraphInput, SessionTuning } from './graph-runner.ts';

export interface WorkerInit {
  readonly model: Uint8Array;
  readonly tuning: SessionTuning;
}

export interface RunRequest {
  readonly id: number;
  readonly input: GraphInput;
  readonly outputs: readonly string[];
}

/** Release the session and let the thread end by itself: terminating it mid-teardown can abort the process in ONNX Runtime's native code. */
export interface CloseRequest {
  readonly type: 'close';
}

export function isCloseRequest(x: RunRequest | CloseRequest): x is CloseRequest {
  return 'type' in x;
}

export type WorkerReply =
  | { readonly type: 'ready'; readonly inputs: readonly InferenceSession.ValueMetadata[]; readonly outputs: readonly InferenceSession.ValueMetadata[] }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly outputs: Record<string, Float32Array> }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

const REPLY_TYPES: readonly string[] = ['ready', 'failed', 'result', 'error'] satisfies readonly WorkerReply['type'][];

/** The worker is ours, but its messages still cross a boundary: check the tag before trusting the shape. */
export function isWorkerReply(x: unknown): x is WorkerReply {
  return typeof x === 'object' && x !== null && 'type' in x && typeof x.type === 'string' && REPLY_TYPES.includes(x.type);
}
