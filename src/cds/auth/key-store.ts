import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, errors } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWSHeaderParameters } from 'jose';
import type { KeyLocation } from './trusted-issuers.ts';
import { readCapped } from '../../common/read-capped.ts';

export interface KeyStoreOptions {
  /** For JWKS URLs; tests pass their own. */
  readonly fetch?: typeof fetch;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Per JWKS download. Default 3000. */
  readonly timeoutMs?: number;
  /** Largest JWKS document accepted. Default 64 KiB. */
  readonly maxBytes?: number;
  /** How long a loaded key set is used before it is loaded again. Default 10 minutes. */
  readonly cacheMs?: number;
  /**
   * A token naming an unknown `kid` reloads the set (key rotation), at most once per this many
   * milliseconds per location, so forged `kid`s cannot turn the service into a JWKS fetch loop.
   * Default 30 s.
   */
  readonly refreshCooldownMs?: number;
}

export interface KeyStore {
  /** The public key for a token header from the key set at `location`; throws when there is none. */
  keyFor(location: KeyLocation, header: JWSHeaderParameters): Promise<CryptoKey>;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

interface Entry {
  readonly set: LocalSet;
  /** Loaded again on the first use after this. */
  readonly expiresAt: number;
  /** Last load attempt, successful or not: reloads for unknown kids wait a cooldown after it. */
  readonly triedAt: number;
}

/**
 * Key sets by location, cached: a JWKS URL is fetched without following redirects, with a timeout
 * and a size cap; a file is read; an inline set is used as it is. An unknown `kid` reloads once per
 * cooldown; a failed reload keeps the keys already known.
 */
export function createKeyStore(opts: KeyStoreOptions = {}): KeyStore {
  const fetchImpl = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const maxBytes = opts.maxBytes ?? 64 * 1024;
  const cacheMs = opts.cacheMs ?? 10 * 60_000;
  const cooldownMs = opts.refreshCooldownMs ?? 30_000;
  // Inline sets are keyed by the set object itself; URLs and files by their address.
  const entries = new Map<CacheKey, Entry>();
  const loading = new Map<CacheKey, Promise<Entry>>();
  // A location that never loaded: when it last failed, so a dead JWKS host is not asked on every
  // request (the `iss` that points at it is the caller's, unverified, choice).
  const failedAt = new Map<CacheKey, { readonly at: number; readonly error: unknown }>();
  const failureBackoffMs = Math.min(cooldownMs, 5000);

  async function loadJwks(location: KeyLocation): Promise<unknown> {
    switch (location.kind) {
      case 'inline':
        return location.jwks;
      case 'file':
        return JSON.parse(await readFile(location.path, 'utf8'));
      case 'url':
        return fetchJwks(location.url, fetchImpl, timeoutMs, maxBytes);
    }
  }

  function load(key: CacheKey, location: KeyLocation): Promise<Entry> {
    const pending = loading.get(key);
    if (pending) {
      return pending;
    }
    const p = (async (): Promise<Entry> => {
      try {
        const jwks = await loadJwks(location);
        refusePrivateKeys(jwks);
        // createLocalJWKSet checks the shape itself and throws JWKSInvalid.
        const t = now();
        const entry = { set: createLocalJWKSet(jwks as JSONWebKeySet), expiresAt: t + cacheMs, triedAt: t };
        entries.set(key, entry);
        failedAt.delete(key);
        return entry;
      } catch (err) {
        const stale = entries.get(key);
        if (stale) {
          // Keep serving the known keys; try again after a cooldown rather than on every request.
          const t = now();
          const retry = { set: stale.set, expiresAt: t + cooldownMs, triedAt: t };
          entries.set(key, retry);
          return retry;
        }
        failedAt.set(key, { at: now(), error: err });
        throw err;
      } finally {
        loading.delete(key);
      }
    })();
    loading.set(key, p);
    return p;
  }

  return {
    async keyFor(location: KeyLocation, header: JWSHeaderParameters): Promise<CryptoKey> {
      const key = locationKey(location);
      let entry = entries.get(key);
      if (!entry || now() >= entry.expiresAt) {
        const failed = failedAt.get(key);
        if (!entry && failed && now() - failed.at < failureBackoffMs) {
          throw failed.error;
        }
        entry = await load(key, location);
      }
      try {
        return await entry.set(header);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || location.kind === 'inline' || now() - entry.triedAt < cooldownMs) {
          throw err;
        }
      }
      const reloaded = await load(key, location);
      return reloaded.set(header);
    },
  };
}

type CacheKey = string | object;

function locationKey(location: KeyLocation): CacheKey {
  switch (location.kind) {
    case 'url':
      return `url ${location.url}`;
    case 'file':
      return `file ${location.path}`;
    case 'inline':
      return location.jwks;
  }
}

/** GET a JWK Set: no redirects (the target could be anywhere), a timer abort, a capped body. */
async function fetchJwks(url: string, fetchImpl: typeof fetch, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const abort = new AbortController();
  // A plain timer, not AbortSignal.timeout combined with another signal (see fhir-gateway.ts).
  const timer = setTimeout(() => { abort.abort(new Error(`JWKS ${url} timed out`)); }, timeoutMs);
  try {
    const res = await fetchImpl(url, { method: 'GET', redirect: 'manual', headers: { accept: 'application/jwk-set+json, application/json' }, signal: abort.signal });
    if (res.status !== 200) {
      abort.abort();
      throw new Error(`JWKS ${url} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      abort.abort();
      throw new Error(`JWKS ${url} is ${declared} bytes; the limit is ${maxBytes}`);
    }
    const body = await readCapped(res.body, maxBytes, () => { abort.abort(); }, () => new Error(`JWKS is more than ${maxBytes} bytes`));
    return JSON.parse(body.toString('utf8'));
  } finally {
    clearTimeout(timer);
  }
}


/** A published set with private or symmetric keys is a misconfiguration: trust none of it. */
function refusePrivateKeys(jwks: unknown): void {
  const keys = typeof jwks === 'object' && jwks !== null && 'keys' in jwks && Array.isArray(jwks.keys) ? (jwks.keys as unknown[]) : [];
  for (const k of keys) {
    if (typeof k === 'object' && k !== null && ('d' in k || ('kty' in k && k.kty === 'oct'))) {
      throw new Error('JWKS holds a private or symmetric key; refused');
    }
  }
}
