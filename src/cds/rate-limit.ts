import type { Request, RequestHandler, Response } from 'express';
import { tryGetVerifiedClient } from './auth/client-auth.ts';
import type { Logger } from '../common/logger.ts';
import { OperationOutcomeError, throttled, unavailable } from '../common/outcomes.ts';

/** The hit could not be counted (the store failed): the client should retry later. */
const UNAVAILABLE = new OperationOutcomeError(unavailable('rate limit is temporarily unavailable; retry later'));

/** Per-window request counters shared by replicas (a port: src/storage implements it). */
export interface HitCounter {
  /** Counts one request for `key` in the window starting at `windowStartMs`; resolves to the window's count so far. */
  countHit(key: string, windowStartMs: number, expiresAtMs: number): Promise<number>;
}

export interface RateLimitOptions {
  /** Requests allowed per key and window; the next one gets 429. */
  readonly requests: number;
  readonly windowSeconds: number;
  /** Counters in the shared store, so every replica counts against the same limit. */
  readonly counters: HitCounter;
  readonly now?: () => number;
  readonly log: Pick<Logger, 'error'>;
}

/**
 * The caller a limit applies to: the authenticated CDS client (`iss`) when client authentication
 * is on, else the peer address (behind a load balancer that is the balancer: enable client
 * authentication, or limit at the balancer, to limit per EHR).
 */
export function rateLimitKey(req: Request, res: Response): string {
  const client = tryGetVerifiedClient(res);
  return client ? `iss:${client.iss}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`;
}

/**
 * Fixed-window rate limit: windows start at multiples of `windowSeconds` (epoch time), so all
 * replicas agree on them without talking to each other. Over the limit: 429, an OperationOutcome
 * (`throttled`) and Retry-After up to the window's end. When the store fails (database
 * unreachable): 503, a `transient` OperationOutcome (the error handler adds Retry-After), logged at error
 * level with the key and the store's error (never a token).
 */
export function rateLimit(opts: RateLimitOptions): RequestHandler {
  const windowMs = opts.windowSeconds * 1000;
  const now = opts.now ?? Date.now;
  return async (req, res, next) => {
    const t = now();
    const start = Math.floor(t / windowMs) * windowMs;
    const key = rateLimitKey(req, res);
    let hits: number;
    try {
      hits = await opts.counters.countHit(key, start, start + windowMs);
    } catch (err) {
      // Fail closed: letting uncounted requests through would lift the limit exactly while the store is down.
      opts.log.error('rate limit unavailable', { path: req.path, key, reason: `rate limit count failed: ${clip(err instanceof Error ? err.message : String(err))}` });
      next(UNAVAILABLE);
      return;
    }
    if (hits <= opts.requests) {
      next();
      return;
    }
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil((start + windowMs - t) / 1000))));
    next(
      new OperationOutcomeError(throttled(`rate limit: at most ${opts.requests} requests per ${opts.windowSeconds} s; retry later`)),
    );
  };
}

/** A store error's message goes to the log only shortened. */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
