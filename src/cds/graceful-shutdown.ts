import type { Server } from 'node:http';
import type { Logger } from '../common/logger.ts';

export interface Drainable {
  /** Refuses new hooks (503 + Retry-After) and resolves true once the admitted ones have finished. */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** After the hooks drained, how long open connections get to finish writing their responses. */
export const FLUSH_MS = 1000;

/**
 * SIGTERM handling: stop accepting connections, let admitted hooks finish (up to `graceMs`), give
 * the last responses a moment to flush, then cut what is left and close the model and stores.
 * An orchestrator's own grace period (Kubernetes: 30 s) should exceed `graceMs` + 1 s.
 */
export async function shutdownGracefully(server: Server, service: Drainable, opts: { readonly graceMs: number; readonly log: Pick<Logger, 'info' | 'warn'> }): Promise<void> {
  opts.log.info('shutting down: draining in-flight hooks', { graceMs: opts.graceMs });
  const closed = new Promise<void>((resolve) => {
    server.close(() => { resolve(); });
  });
  const drained = await service.drain(opts.graceMs);
  if (!drained) {
    opts.log.warn('shutdown grace period over with hooks still running; they are cut off', { graceMs: opts.graceMs });
  }
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const flushed = await Promise.race([closed.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => { resolve(false); }, FLUSH_MS)))]);
  clearTimeout(timer);
  if (!flushed) {
    server.closeAllConnections();
    await closed;
  }
  await service.close();
  opts.log.info('shut down', { drained });
}
