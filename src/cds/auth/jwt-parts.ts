import { decodeJwt, decodeProtectedHeader, errors } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { KeyLocation, TrustedIssuer } from './trusted-issuers.ts';

/**
 * The steps both verifiers take before and around jose's `jwtVerify` (CDS client JWTs,
 * verify-client-jwt.ts; annotators' user tokens, staff-jwt.ts). Each throws `Rejected` with a
 * reason for the server log; the caller never shows the reason to the client.
 */
export class Rejected extends Error {}

/** header.payload.signature, base64url, with a non-empty signature (an unsigned token has none). */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function checkCompactJws(token: string, maxChars: number): void {
  if (token.length > maxChars || !JWS_COMPACT.test(token)) {
    throw new Rejected('not a signed compact JWT');
  }
}

/** The protected header, its `alg` on the allow-list (so `none` and HMAC are refused before any key is looked up). */
export function readHeader<A extends string>(token: string, algorithms: readonly A[]): ProtectedHeaderParameters & { readonly alg: A } {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new Rejected('header is not base64url JSON');
  }
  const { alg } = header;
  const allowed = (a: unknown): a is A => typeof a === 'string' && (algorithms as readonly string[]).includes(a);
  if (!allowed(alg)) {
    throw new Rejected(`algorithm ${clip(String(alg))} is not accepted (${algorithms.join(', ')})`);
  }
  return { ...header, alg };
}

/** The unverified claims, to find the issuer whose keys verify them. */
export function readClaims(token: string): JWTPayload & { readonly iss: string } {
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
export function keyLocation(issuer: TrustedIssuer, header: ProtectedHeaderParameters): KeyLocation {
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

/** jose's messages name the failed check and claim, never the token itself. */
export function describeVerifyError(err: unknown): string {
  if (err instanceof errors.JOSEError) {
    return `${err.code}: ${err.message}`;
  }
  return `key lookup failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** Attacker-chosen strings go to the log only shortened. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
