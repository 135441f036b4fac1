import { jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { Rejected, checkCompactJws, clip, describeVerifyError, keyLocation, readClaims, readHeader } from './jwt-parts.ts';
import type { Annotator } from '../../annotation/annotation-store.ts';
import type { KeyStore } from './key-store.ts';
import type { TrustedIssuer } from './trusted-issuers.ts';

/**
 * Hospital staff tokens (annotators, model administrators: the same providers, a different role)
 * are user tokens from the hospital's identity provider (OpenID Connect access or ID tokens, such as
 * the id_token of the viewer's SMART launch), not CDS client tokens: providers sign RS256 by
 * default and SMART authorization servers RS256 or ES256, so the allow-list is the
 * asymmetric algorithms in use. `none` and HMAC (HS*, where a public key could be misused as the
 * secret) are refused before any key is looked up, as for clients.
 */
export const STAFF_JWT_ALGORITHMS = ['RS256', 'RS384', 'PS256', 'PS384', 'ES256', 'ES384'] as const;

/** A session token is used for many calls: `iss`, `sub`, `aud` and `exp` are required; no `jti` replay check. */
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp'] as const;
const MAX_TOKEN_CHARS = 16_384;
const MAX_SUB_CHARS = 200;

export interface StaffJwtPolicy {
  /** The identity providers (annotatorIssuersFile): same format as the trusted CDS clients. */
  readonly issuers: readonly TrustedIssuer[];
  /** The `aud` the token must carry (annotatorAudience, default the service's public base URL). */
  readonly audience: string;
  /** Where the roles are: a claim name or a dotted path (`realm_access.roles`). */
  readonly roleClaim: string;
  /** The role the user must hold: ANNOTATOR_ROLE for annotators, MODEL_ADMIN_ROLE for model administrators. */
  readonly role: string;
  readonly clockSkewSeconds: number;
}

/** `status` 401: not authenticated; 403: authenticated, but without the role. The reason is for the log only. `annotator`: the user's identity. */
export type StaffJwtResult =
  | { readonly ok: true; readonly annotator: Annotator }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string; readonly iss?: string; readonly sub?: string };

export interface StaffJwtVerifier {
  verify(token: string): Promise<StaffJwtResult>;
}

export function createStaffJwtVerifier(policy: StaffJwtPolicy, deps: { readonly keys: KeyStore; readonly now?: () => number }): StaffJwtVerifier {
  const byIss = new Map(policy.issuers.map((i) => [i.iss, i] as const));
  const now = deps.now ?? Date.now;
  return {
    async verify(token: string): Promise<StaffJwtResult> {
      let iss: string | undefined;
      try {
        checkCompactJws(token, MAX_TOKEN_CHARS);
        const header = readHeader(token, STAFF_JWT_ALGORITHMS);
        iss = readClaims(token).iss;
        const issuer = byIss.get(iss);
        if (!issuer) {
          throw new Rejected('issuer is not a configured annotator issuer');
        }
        const location = keyLocation(issuer, header);
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(token, (h) => deps.keys.keyFor(location, h), {
            algorithms: [...STAFF_JWT_ALGORITHMS],
            issuer: issuer.iss,
            audience: policy.audience,
            clockTolerance: policy.clockSkewSeconds,
            requiredClaims: [...REQUIRED_CLAIMS],
            currentDate: new Date(now()),
          }));
        } catch (err) {
          throw new Rejected(describeVerifyError(err));
        }
        const sub = payload.sub;
        if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUB_CHARS) {
          throw new Rejected('sub is not a usable string');
        }
        if (issuer.clientIds && !issuer.clientIds.includes(sub)) {
          throw new Rejected('sub is not on the issuer allow-list (clientIds)');
        }
        if (issuer.tenant !== undefined && payload.tenant !== issuer.tenant) {
          throw new Rejected('tenant does not match the issuer configuration');
        }
        if (!rolesOf(payload, policy.roleClaim).includes(policy.role)) {
          return { ok: false, status: 403, reason: `token has no ${policy.role} role in ${policy.roleClaim}`, iss: clip(iss), sub: clip(sub) };
        }
        const name = payload.name;
        return { ok: true, annotator: { issuer: issuer.iss, id: sub, ...(typeof name === 'string' && name !== '' ? { name: clip(name, 200) } : {}) } };
      } catch (err) {
        const reason = err instanceof Rejected ? err.message : `verification failed: ${err instanceof Error ? err.message : String(err)}`;
        return { ok: false, status: 401, reason, ...(iss !== undefined ? { iss: clip(iss) } : {}) };
      }
    },
  };
}

/** The roles at a claim name or dotted path: an array of strings, or one space-separated string (as `scope`). */
export function rolesOf(payload: JWTPayload, claim: string): string[] {
  let at: unknown = payload;
  for (const part of claim.split('.')) {
    at = typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as Record<string, unknown>)[part] : undefined;
  }
  if (typeof at === 'string') {
    return at.split(/\s+/).filter(Boolean);
  }
  return Array.isArray(at) ? at.filter((r): r is string => typeof r === 'string') : [];
}
