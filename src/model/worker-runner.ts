import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { GraphRunner, SessionTuning } from './graph-runner.ts';
import type { CloseRequest, RunRequest, WorkerInit } from './worker-protocol.ts';

/** How long release() waits for the worker to end by itself before terminating it. */
const CLOSE_GRACE_MS = 5000;
import { isWorkerReply } from './worker-protocol.ts';

interface WorkerMeta {
  readonly inputs: GraphRunner['inputMetadata'];
  readonly outputs: GraphRunner['outputMetadata'];
}

interface Pending {
  readonly resolve: (outputs: Record<string, Float32Array>) => void;
  readonly reject: (err: Error) => void;
}

/**
 * The worker entry beside this file, with this file's extension. Run from source (.ts) under tsx,
 * the worker must load tsx itself: Node 20 does not apply the parent's `--import tsx` to workers.
 */
function spawnWorker(init: WorkerInit): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./inference-worker${ext}`, import.meta.url);
  const opts = { workerData: init, transferList: [init.model.buffer as ArrayBuffer] };
  if (ext !== '.ts') {
    return new Worker(entry, opts);
  }
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(code, { ...opts, eval: true });
}

/**
 * The session in a worker thread: inference no longer blocks the event loop, so while one hook's
 * images run through the network, other hooks' HTTP, fetches and heatmaps go on (bench/README.md).
 * The worker keeps the process alive only while a run is in flight, so a CLI that forgets close()
 * still exits. `model` is transferred to the worker: do not use it afterwards.
 */
export async function createWorkerRunner(model: Uint8Array, tuning: SessionTuning): Promise<GraphRunner> {
  // A private copy to transfer: the caller's buffer may be a slice of a larger pooled one.
  const worker = spawnWorker({ model: model.slice(), tuning });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let stopped: Error | undefined;
  let ended = false;

  const fail = (err: Error): void => {
    stopped ??= err;
    for (const p of pending.values()) {
      p.reject(stopped);
    }
    pending.clear();
  };

  const ready = new Promise<WorkerMeta>((resolve, reject) => {
    worker.on('message', (msg: unknown) => {
      if (!isWorkerReply(msg)) {
        return;
      }
      switch (msg.type) {
        case 'ready':
          resolve({ inputs: msg.inputs, outputs: msg.outputs });
          return;
        case 'failed':
          reject(new Error(`the model could not be loaded: ${msg.message}`));
          return;
        case 'result':
        case 'error': {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (pending.size === 0) {
            worker.unref();
          }
          if (msg.type === 'result') {
            p?.resolve(msg.outputs);
          } else {
            p?.reject(new Error(`inference failed: ${msg.message}`));
          }
          return;
        }
      }
    });
    worker.on('error', (err) => {
      reject(err);
      fail(new Error(`inference worker failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      ended = true;
      reject(new Error(`inference worker exited (code ${code}) before the model loaded`));
      fail(new Error(`inference worker exited (code ${code})`));
    });
  });

  let meta: WorkerMeta;
  try {
    meta = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.unref();

  return {
    inputMetadata: meta.inputs,
    outputMetadata: meta.outputs,
    run(input, outputs) {
      if (stopped) {
        return Promise.reject(stopped);
      }
      return new Promise((resolve, reject) => {
        const id = nextId++;
        if (pending.size === 0) {
          worker.ref();
        }
        pending.set(id, { resolve, reject });
        const req: RunRequest = { id, input, outputs };
        worker.postMessage(req, [input.data.buffer as ArrayBuffer]);
      });
    },
    async release() {
      fail(new Error('the model was closed'));
      if (ended) {
        return;
      }
      const exited = new Promise<void>((resolve) => worker.once('exit', () => { resolve(); }));
      worker.ref();
      worker.postMessage({ type: 'close' } satisfies CloseRequest);
      // A graceful end normally takes milliseconds; terminate only a thread that does not end.
      const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
