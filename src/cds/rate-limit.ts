import type { Request, RequestHandler, Response } from 'express';
import { tryGetVerifiedClient } from '../auth/client-auth.ts';
import { OperationOutcomeError } from '../outcomes.ts';
import type { SharedStore } from '../storage/shared-store.ts';

export interface RateLimitOptions {
  /** Requests allowed per key and window; the next one gets 429. */
  readonly requests: number;
  readonly windowSeconds: number;
  /** Counters in the shared store, so every replica counts against the same limit. */
  readonly counters: Pick<SharedStore, 'countHit'>;
  readonly now?: () => number;
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
 * (`throttled`) and Retry-After up to the window's end.
 */
export function rateLimit(opts: RateLimitOptions): RequestHandler {
  const windowMs = opts.windowSeconds * 1000;
  const now = opts.now ?? Date.now;
  return async (req, res, next) => {
    const t = now();
    const start = Math.floor(t / windowMs) * windowMs;
    const hits = await opts.counters.countHit(rateLimitKey(req, res), start, start + windowMs);
    if (hits <= opts.requests) {
      next();
      return;
    }
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil((start + windowMs - t) / 1000))));
    next(
      new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'throttled', details: { text: `rate limit: at most ${opts.requests} requests per ${opts.windowSeconds} s; retry later` } }],
      }),
    );
  };
}
