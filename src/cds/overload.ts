import { OperationOutcomeError, unavailable } from '../common/outcomes.ts';

export interface WorkQueueOptions {
  /** Jobs running at once. */
  readonly concurrency: number;
  /** Jobs waiting for a slot; one more is refused at once. Infinity for a plain queue. */
  readonly maxQueued: number;
  /** Longest wait for a slot before the job is refused. Infinity waits as long as it takes. */
  readonly maxWaitMs: number;
  /** What a refusal says; default "the service is busy". */
  readonly busyText?: string;
}

export interface WorkQueueStats {
  readonly running: number;
  readonly queued: number;
  readonly draining: boolean;
}

/**
 * A bounded work queue: at most `concurrency` jobs run, at most `maxQueued` wait, and a job that
 * cannot run is refused with a `transient` OperationOutcome (HTTP 503; the error handler adds Retry-After)
 * instead of piling up until memory runs out. `drain` stops admitting work and resolves once
 * everything admitted has finished, for graceful shutdown.
 */
export interface WorkQueue {
  run<T>(job: () => Promise<T>): Promise<T>;
  stats(): WorkQueueStats;
  /** Refuses new jobs from now on; true when all admitted work finished within `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean>;
}

interface Waiter {
  readonly start: () => void;
  readonly timer: NodeJS.Timeout | undefined;
}

export function createWorkQueue(opts: WorkQueueOptions): WorkQueue {
  if (!(opts.concurrency >= 1)) {
    throw new RangeError('concurrency must be at least 1');
  }
  const busy = (text: string): OperationOutcomeError => new OperationOutcomeError(unavailable(text));
  const busyText = opts.busyText ?? 'the service is busy; retry later';
  const waiting: Waiter[] = [];
  const idle: (() => void)[] = [];
  let running = 0;
  let draining = false;

  function release(): void {
    running--;
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.start();
    } else if (running === 0) {
      idle.splice(0).forEach((f) => { f(); });
    }
  }

  async function execute<T>(job: () => Promise<T>): Promise<T> {
    running++;
    try {
      return await job();
    } finally {
      release();
    }
  }

  return {
    run<T>(job: () => Promise<T>): Promise<T> {
      if (draining) {
        return Promise.reject(busy('the service is shutting down; retry on another instance'));
      }
      if (running < opts.concurrency) {
        return execute(job);
      }
      if (waiting.length >= opts.maxQueued) {
        return Promise.reject(busy(busyText));
      }
      return new Promise<T>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            execute(job).then(resolve, reject);
          },
          timer: Number.isFinite(opts.maxWaitMs)
            ? setTimeout(() => {
                const i = waiting.indexOf(waiter);
                if (i >= 0) {
                  waiting.splice(i, 1);
                  reject(busy(busyText));
                }
              }, opts.maxWaitMs)
            : undefined,
        };
        waiting.push(waiter);
      });
    },
    stats(): WorkQueueStats {
      return { running, queued: waiting.length, draining };
    },
    drain(timeoutMs: number): Promise<boolean> {
      draining = true;
      if (running === 0 && waiting.length === 0) {
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => { resolve(false); }, timeoutMs);
        idle.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}
