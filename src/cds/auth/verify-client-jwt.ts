import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { KeyStore } from './key-store.ts';
import type { ReplayCache } from './replay-cache.ts';
import type { KeyLocation, TrustedIssuer } from './trusted-issuers.ts';

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
/** header.payload.signature, base64url, with a non-empty signature (an unsigned token has none). */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

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

class Rejected extends Error {}
class Unavailable extends Error {}

export function createClientJwtVerifier(policy: ClientJwtPolicy, deps: ClientJwtVerifierDeps): ClientJwtVerifier {
  const byIss = new Map(policy.issuers.map((i) => [i.iss, i] as const));
  const now = deps.now ?? Date.now;

  return {
    async verify(token: string, audience: string): Promise<ClientJwtResult> {
      let iss: string | undefined;
      let kid: string | undefined;
      try {
        if (token.length > MAX_TOKEN_CHARS || !JWS_COMPACT.test(token)) {
          throw new Rejected('not a signed compact JWT');
        }
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

function readHeader(token: string): ProtectedHeaderParameters & { readonly alg: ClientJwtAlgorithm; readonly kid: string } {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new Rejected('header is not base64url JSON');
  }
  const { alg, kid, typ } = header;
  if (!isAlgorithm(alg)) {
    throw new Rejected(`algorithm ${clip(String(alg))} is not accepted (ES384, RS384 only)`);
  }
  if (typeof kid !== 'string' || kid === '') {
    throw new Rejected('header has no kid');
  }
  if (typ !== undefined && typ.toUpperCase() !== 'JWT') {
    throw new Rejected(`typ ${clip(typ)} is not JWT`);
  }
  return { ...header, alg, kid };
}

function readClaims(token: string): JWTPayload & { readonly iss: string } {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new Rejected('payload is not a JSON claims set');
  }
  if (typeof claims.iss !== 'string' || claims.iss === '') {
    throw new Rejected('no iss claim');
  }
  return { ...claims, iss: claims.iss };
}

/** `jku` is honoured only when it is on the issuer's allow-list; otherwise the issuer's own keys. */
function keyLocation(issuer: TrustedIssuer, header: ProtectedHeaderParameters): KeyLocation {
  if (header.jku !== undefined) {
    if (typeof header.jku !== 'string' || !issuer.jkuAllowList.includes(header.jku)) {
      throw new Rejected('jku is not on the issuer allow-list');
    }
    return { kind: 'url', url: header.jku };
  }
  if (!issuer.keys) {
    throw new Rejected('token has no jku and the issuer has no configured key set');
  }
  return issuer.keys;
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

/** jose's messages name the failed check and claim, never the token itself. */
function describeVerifyError(err: unknown): string {
  if (err instanceof errors.JOSEError) {
    return `${err.code}: ${err.message}`;
  }
  return `key lookup failed: ${err instanceof Error ? err.message : String(err)}`;
}

function isAlgorithm(alg: unknown): alg is ClientJwtAlgorithm {
  return typeof alg === 'string' && (CLIENT_JWT_ALGORITHMS as readonly string[]).includes(alg);
}

/** Attacker-chosen strings go to the log only shortened. */
function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
