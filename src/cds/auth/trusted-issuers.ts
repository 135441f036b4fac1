import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { OperationOutcomeError, badRequest } from '../../common/outcomes.ts';
import { parseOrThrow } from '../../common/validation-outcome.ts';

/**
 * The CDS clients this service trusts (CDS Hooks 2.0 "Trusting CDS Clients",
 * https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): "CDS Services SHOULD whitelist the iss,
 * jku and sub fields to only the CDS Clients they trust". One entry per issuer (`iss`), each with
 * where its signing keys come from. Hospital networks and test clients often cannot reach a `jku`
 * host (the official sandbox publishes its ES384 key on its public site), so a JWKS may also be
 * given inline or as a file next to the issuers file.
 */
const jwk = z.object({ kty: z.string().min(1), kid: z.string().min(1).optional() }).loose();
const jwksDoc = z.object({ keys: z.array(jwk).min(1) });
const httpUrl = z
  .url()
  .refine((u) => /^https?:\/\//i.test(u) && !/^[a-z]+:\/\/[^/]*@/i.test(u), 'an http(s) URL without credentials');

const issuerSchema = z
  .object({
    /** The JWT `iss`, compared exactly. */
    iss: z.string().min(1),
    /** Where the issuer's JWK Set is published; fetched (no redirects, size and time capped) and cached. */
    jwksUrl: httpUrl.optional(),
    /** The JWK Set itself (public keys only). */
    jwks: jwksDoc.optional(),
    /** A JWK Set file, relative to the issuers file; re-read when a token names an unknown `kid`. */
    jwksFile: z.string().min(1).optional(),
    /** `jku` header values accepted for this issuer, compared exactly. A token with any other `jku` is refused. */
    jkuAllowList: z.array(httpUrl).default([]),
    /** When set, the token's `tenant` claim must equal it. */
    tenant: z.string().min(1).optional(),
    /** When set, the token's `sub` (the client_id) must be one of these. */
    clientIds: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .refine((i) => i.jwksUrl !== undefined || i.jwks !== undefined || i.jwksFile !== undefined || i.jkuAllowList.length > 0, {
    error: 'an issuer needs jwksUrl, jwks, jwksFile or a jkuAllowList',
  })
  .refine((i) => [i.jwksUrl, i.jwks, i.jwksFile].filter((x) => x !== undefined).length <= 1, { error: 'give one of jwksUrl, jwks, jwksFile' })
  .refine((i) => !(i.jwks?.keys ?? []).some(isPrivateJwk), { error: 'jwks holds a private key: publish public keys only', path: ['jwks'] });

const issuersFileSchema = z.object({ issuers: z.array(issuerSchema).min(1) }).strict();

export type JsonWebKeySet = JSONWebKeySet;

/** Where an issuer's keys come from when the token has no `jku`. */
export type KeyLocation = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'inline'; readonly jwks: JsonWebKeySet };

export interface TrustedIssuer {
  readonly iss: string;
  readonly keys?: KeyLocation;
  readonly jkuAllowList: readonly string[];
  readonly tenant?: string;
  readonly clientIds?: readonly string[];
}

/** Parses the issuers document; `baseDir` resolves relative `jwksFile` paths. Errors name the element. */
export function parseTrustedIssuers(json: unknown, baseDir: string): readonly TrustedIssuer[] {
  const parsed = parseOrThrow(issuersFileSchema, json, 'trustedIssuers');
  const seen = new Set<string>();
  return parsed.issuers.map((i, k) => {
    if (seen.has(i.iss)) {
      throw new OperationOutcomeError(badRequest(`issuer ${i.iss} is listed twice`, `trustedIssuers.issuers.${k}.iss`));
    }
    seen.add(i.iss);
    const keys: KeyLocation | undefined = i.jwksUrl
      ? { kind: 'url', url: i.jwksUrl }
      : i.jwksFile
        ? { kind: 'file', path: resolve(baseDir, i.jwksFile) }
        : i.jwks
          ? { kind: 'inline', jwks: i.jwks }
          : undefined;
    return {
      iss: i.iss,
      ...(keys ? { keys } : {}),
      jkuAllowList: i.jkuAllowList,
      ...(i.tenant ? { tenant: i.tenant } : {}),
      ...(i.clientIds ? { clientIds: i.clientIds } : {}),
    };
  });
}

/** Reads and checks the trusted issuers file (`trustedIssuersFile` / TRUSTED_ISSUERS_FILE). */
export async function loadTrustedIssuers(path: string): Promise<readonly TrustedIssuer[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`trusted issuers file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`trusted issuers file ${path} is not JSON`, { cause: err });
  }
  return parseTrustedIssuers(json, dirname(path));
}

/** RSA and EC private keys carry `d`; a published JWK Set must not. */
function isPrivateJwk(key: Readonly<Record<string, unknown>>): boolean {
  return 'd' in key || key.kty === 'oct';
}
