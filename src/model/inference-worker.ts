/**
 * Worker thread entry: owns the ONNX Runtime session, so inference (synchronous in
 * onnxruntime-node) never blocks the service's event loop. Started by createWorkerRunner.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { runSession, sessionOptions } from './graph-runner.ts';
import type { CloseRequest, RunRequest, WorkerInit, WorkerReply } from './worker-protocol.ts';
import { isCloseRequest } from './worker-protocol.ts';

const port = parentPort;
if (!port) {
  throw new Error('inference-worker.ts runs as a worker thread (createWorkerRunner)');
}
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => { port.postMessage(reply, transfer); };
const init = workerData as WorkerInit;

try {
  const session = await ort.InferenceSession.create(init.model, sessionOptions(init.tuning));
  port.on('message', (req: RunRequest | CloseRequest) => {
    if (isCloseRequest(req)) {
      // Runs are synchronous, so none is in flight here: release, then close the port and the thread ends.
      session.release().then(
        () => { port.close(); },
        () => { port.close(); },
      );
      return;
    }
    // Through a promise, so that a synchronous throw (a bad tensor) answers this request instead of
    // killing the worker and every request behind it.
    Promise.resolve()
      .then(() => runSession(session, new ort.Tensor('float32', req.input.data, [...req.input.dims]), req.input, req.outputs))
      .then(
        (outputs) => {
          // ORT hands out views on its own buffers; copies are ours to transfer.
          const owned = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.slice()]));
          post({ type: 'result', id: req.id, outputs: owned }, Object.values(owned).map((v) => v.buffer));
        },
        (err: unknown) => { post({ type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) }); },
      );
  });
  post({ type: 'ready', inputs: session.inputMetadata, outputs: session.outputMetadata });
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
