/**
 * `jti` values already seen, each kept until its token expires (CDS Hooks 2.0: jti "uniquely
 * identifies this authentication JWT (used to protect against replay attacks)"). Only tokens whose
 * signature verified are remembered, so filling it needs a trusted issuer's key. Kept in the
 * shared store, so a token replayed to another replica is refused too.
 */
export interface ReplayCache {
  /** True the first time (`iss`, `jti`) is seen before `expiresAtMs`; false for a replay. */
  remember(iss: string, jti: string, expiresAtMs: number): Promise<boolean>;
}

/** Where sightings are kept, across replicas (a port: src/storage implements it). */
export interface JtiLedger {
  /**
   * True the first time (`iss`, `jti`) is seen while an earlier sighting is unexpired at `nowMs`;
   * false for a replay. Atomic across replicas: of two concurrent calls exactly one gets true.
   */
  rememberJti(iss: string, jti: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
}

export function createReplayCache(store: JtiLedger, opts: { readonly now?: () => number } = {}): ReplayCache {
  const now = opts.now ?? Date.now;
  return {
    remember: (iss, jti, expiresAtMs) => store.rememberJti(iss, jti, expiresAtMs, now()),
  };
}
