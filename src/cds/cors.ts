import type { RequestHandler } from 'express';

export interface CorsOptions {
  /** Exact origins (`https://ehr.example.org`) allowed to call from a browser; `*` allows any. */
  readonly origins: readonly string[];
  /** How long a browser may cache a preflight answer. Default 600 s. */
  readonly maxAgeSeconds?: number;
}

/**
 * CORS for browser-based CDS clients (CDS Hooks 2.0 "Cross-Origin Resource Sharing"): on discovery,
 * hooks and feedback, an allowed Origin is echoed and the OPTIONS preflight for Authorization and
 * Content-Type is answered here, before authentication (a browser sends no Authorization on a
 * preflight). Other origins get no CORS headers, so the browser refuses the response; a preflight
 * from them is answered 204 without headers and goes no further.
 */
export function corsForOrigins(opts: CorsOptions): RequestHandler {
  const any = opts.origins.includes('*');
  const allowed = new Set(opts.origins.map(normalizeOrigin));
  const maxAge = String(opts.maxAgeSeconds ?? 600);
  return (req, res, next) => {
    const origin = req.headers.origin;
    const ok = typeof origin === 'string' && (any || allowed.has(normalizeOrigin(origin)));
    res.vary('Origin');
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After, WWW-Authenticate');
    }
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    if (ok) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Max-Age', maxAge);
    }
    res.status(204).end();
  };
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
