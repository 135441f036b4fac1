/**
 * `jti` values already seen, each kept until its token expires (CDS Hooks 2.0: jti "uniquely
 * identifies this authentication JWT (used to protect against replay attacks)"). Only tokens whose
 * signature verified are remembered, so filling it needs a trusted issuer's key. Bounded: past
 * `maxEntries` the oldest entries go first (they are the nearest to expiring anyway).
 */
export interface ReplayCache {
  /** True the first time (`iss`, `jti`) is seen before `expiresAtMs`; false for a replay. */
  remember(iss: string, jti: string, expiresAtMs: number): boolean;
  readonly size: number;
}

export function createReplayCache(opts: { readonly maxEntries?: number; readonly now?: () => number } = {}): ReplayCache {
  const maxEntries = opts.maxEntries ?? 100_000;
  const now = opts.now ?? Date.now;
  // Insertion order is arrival order: the map's first keys are the oldest.
  const seen = new Map<string, number>();
  let sweptAt = 0;

  function sweep(t: number): void {
    for (const [k, exp] of seen) {
      if (exp <= t) {
        seen.delete(k);
      }
    }
    sweptAt = t;
  }

  return {
    remember(iss: string, jti: string, expiresAtMs: number): boolean {
      const t = now();
      const key = `${iss}\u0000${jti}`;
      const exp = seen.get(key);
      if (exp !== undefined && exp > t) {
        return false;
      }
      if (t - sweptAt > 10_000) {
        sweep(t);
      }
      while (seen.size >= maxEntries) {
        const oldest = seen.keys().next();
        if (oldest.done) {
          break;
        }
        seen.delete(oldest.value);
      }
      seen.delete(key);
      seen.set(key, expiresAtMs);
      return true;
    },
    get size(): number {
      return seen.size;
    },
  };
}
