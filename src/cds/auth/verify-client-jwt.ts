import { jwtVerify } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { Rejected, checkCompactJws, clip, describeVerifyError, keyLocation, readClaims, readHeader as readAllowedHeader } from './jwt-parts.ts';
import type { KeyStore } from './key-store.ts';
import type { ReplayCache } from './replay-cache.ts';
import type { TrustedIssuer } from './trusted-issuers.ts';

/**
 * CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): clients sign with ES384 or
 * RS384. Everything else is refused before any key is looked up: `none`, HMAC (HS*, where a public
 * key could be misused as the secret), and other asymmetric algorithms.
 */
export const CLIENT_JWT_ALGORITHMS = ['ES384', 'RS384'] as const;
export type ClientJwtAlgorithm = (typeof CLIENT_JWT_ALGORITHMS)[number];

/** The claims the spec makes REQUIRED; `tenant` is optional unless the issuer names one. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'] as const;
/** Far above any real client JWT; a longer header is refused before it is parsed. */
const MAX_TOKEN_CHARS = 8192;
const MAX_JTI_CHARS = 256;

export interface ClientJwtPolicy {
  readonly issuers: readonly TrustedIssuer[];
  /** Leeway for `exp`, `nbf` and `iat`. */
  readonly clockSkewSeconds: number;
  /** Oldest accepted `iat` (the spec: exp no more than 5 minutes after issue). */
  readonly maxAgeSeconds: number;
}

export interface VerifiedClient {
  readonly iss: string;
  readonly sub: string;
  readonly jti: string;
  readonly tenant?: string;
}

/**
 * A failure carries the reason for the server log only; the client is told nothing. `unavailable`:
 * the token could not be checked because the replay store failed, which is not the token's fault.
 */
export type ClientJwtResult =
  | { readonly ok: true; readonly client: VerifiedClient }
  | { readonly ok: false; readonly unavailable: boolean; readonly reason: string; readonly iss?: string; readonly kid?: string };

export interface ClientJwtVerifier {
  /** `audience` is the exact URL of the endpoint being called. */
  verify(token: string, audience: string): Promise<ClientJwtResult>;
}

export interface ClientJwtVerifierDeps {
  readonly keys: KeyStore;
  readonly replay: ReplayCache;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

class Unavailable extends Error {}

export function createClientJwtVerifier(policy: ClientJwtPolicy, deps: ClientJwtVerifierDeps): ClientJwtVerifier {
  const byIss = new Map(policy.issuers.map((i) => [i.iss, i] as const));
  const now = deps.now ?? Date.now;

  return {
    async verify(token: string, audience: string): Promise<ClientJwtResult> {
      let iss: string | undefined;
      let kid: string | undefined;
      try {
        checkCompactJws(token, MAX_TOKEN_CHARS);
        const header = readHeader(token);
        kid = header.kid;
        const claims = readClaims(token);
        iss = claims.iss;
        const issuer = byIss.get(claims.iss);
        if (!issuer) {
          throw new Rejected('issuer is not trusted');
        }
        const location = keyLocation(issuer, header);
        const at = now();
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(token, (h) => deps.keys.keyFor(location, h), {
            algorithms: [...CLIENT_JWT_ALGORITHMS],
            issuer: issuer.iss,
            audience,
            clockTolerance: policy.clockSkewSeconds,
            maxTokenAge: policy.maxAgeSeconds,
            requiredClaims: [...REQUIRED_CLAIMS],
            currentDate: new Date(at),
          }));
        } catch (err) {
          throw new Rejected(describeVerifyError(err));
        }
        const client = checkClaims(payload, issuer);
        // Remembered until the token can no longer pass the exp and max-age checks anyway.
        const iat = payload.iat ?? 0;
        const exp = payload.exp ?? 0;
        const until = (Math.min(exp, iat + policy.maxAgeSeconds) + policy.clockSkewSeconds) * 1000;
        let firstUse: boolean;
        try {
          firstUse = await deps.replay.remember(client.iss, client.jti, Math.max(until, at + 1000));
        } catch (err) {
          // The store failed (database unreachable), not the token: refusing it as unauthenticated
          // would tell a valid client its credentials are wrong.
          throw new Unavailable(`jti replay check failed: ${clip(err instanceof Error ? err.message : String(err), 200)}`);
        }
        if (!firstUse) {
          throw new Rejected('jti was already used (replay)');
        }
        return { ok: true, client };
      } catch (err) {
        const unavailable = err instanceof Unavailable;
        const reason = err instanceof Rejected || unavailable ? err.message : `verification failed: ${err instanceof Error ? err.message : String(err)}`;
        return { ok: false, unavailable, reason, ...(iss !== undefined ? { iss: clip(iss) } : {}), ...(kid !== undefined ? { kid: clip(kid) } : {}) };
      }
    },
  };
}

/** CDS Hooks 2.0 adds to the shared checks: a `kid`, and `typ` absent or JWT. */
function readHeader(token: string): ProtectedHeaderParameters & { readonly alg: ClientJwtAlgorithm; readonly kid: string } {
  const header = readAllowedHeader(token, CLIENT_JWT_ALGORITHMS);
  const { kid, typ } = header;
  if (typeof kid !== 'string' || kid === '') {
    throw new Rejected('header has no kid');
  }
  if (typ !== undefined && typ.toUpperCase() !== 'JWT') {
    throw new Rejected(`typ ${clip(typ)} is not JWT`);
  }
  return { ...header, kid };
}

function checkClaims(payload: JWTPayload, issuer: TrustedIssuer): VerifiedClient {
  const { sub, jti } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_CHARS) {
    throw new Rejected('jti is not a usable string');
  }
  if (typeof sub !== 'string' || sub === '') {
    throw new Rejected('sub is not a string');
  }
  if (issuer.clientIds && !issuer.clientIds.includes(sub)) {
    throw new Rejected('sub (client_id) is not allowed for this issuer');
  }
  const tenant = payload.tenant;
  if (tenant !== undefined && typeof tenant !== 'string') {
    throw new Rejected('tenant is not a string');
  }
  if (issuer.tenant !== undefined && tenant !== issuer.tenant) {
    throw new Rejected('tenant does not match the issuer configuration');
  }
  return { iss: issuer.iss, sub, jti, ...(tenant !== undefined ? { tenant } : {}) };
}
