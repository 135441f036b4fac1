/**
 * Real CDS clients for tests: key pairs made here with jose, JWKS documents, and client JWTs signed
 * the way CDS Hooks 2.0 clients sign them (ES384 or RS384, kid, optional jku).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

export type ClientAlg = 'ES384' | 'RS384' | 'ES256' | 'RS256' | 'PS384';

export interface TestClient {
  readonly alg: ClientAlg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

export type PublicJwk = JWK & { readonly kty: string };

export async function makeClient(alg: ClientAlg, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<TestClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const exported = await exportJWK(publicKey);
  const publicJwk: PublicJwk = { ...exported, kty: exported.kty ?? '', kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export function jwksOf(...clients: readonly TestClient[]): { keys: PublicJwk[] } {
  return { keys: clients.map((c) => c.publicJwk) };
}

export interface SignOptions {
  readonly iss: string;
  readonly aud: string | string[];
  readonly sub?: string | null;
  readonly jti?: string | null;
  /** Seconds relative to now. */
  readonly iatOffset?: number | null;
  readonly expOffset?: number | null;
  readonly tenant?: string;
  readonly jku?: string;
  /** Overrides the client's kid; null leaves it out. */
  readonly kid?: string | null;
  readonly typ?: string;
  readonly extra?: JWTPayload;
}

/** A client JWT; null for a claim leaves it out. */
export async function signClientJwt(client: TestClient, o: SignOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...o.extra };
  if (o.sub !== null) {
    payload.sub = o.sub ?? 'test-client';
  }
  if (o.jti !== null) {
    payload.jti = o.jti ?? randomUUID();
  }
  if (o.iatOffset !== null) {
    payload.iat = now + (o.iatOffset ?? 0);
  }
  if (o.expOffset !== null) {
    payload.exp = now + (o.expOffset ?? 120);
  }
  if (o.tenant !== undefined) {
    payload.tenant = o.tenant;
  }
  const kid = o.kid === undefined ? client.kid : o.kid;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: client.alg, typ: o.typ ?? 'JWT', ...(kid !== null ? { kid } : {}), ...(o.jku ? { jku: o.jku } : {}) })
    .setIssuer(o.iss)
    .setAudience(o.aud)
    .sign(client.privateKey);
}

function b64url(x: unknown): string {
  return Buffer.from(JSON.stringify(x)).toString('base64url');
}

/** An unsigned JWT (`alg: none`), with an empty or a made-up signature part. */
export function unsignedJwt(header: Record<string, unknown>, payload: JWTPayload, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`;
}

/** A client JWT signed with HMAC: the algorithm-confusion attack uses the public key as the secret. */
export async function hmacJwt(secret: Uint8Array, alg: 'HS256' | 'HS384', kid: string, iss: string, aud: string): Promise<string> {
  return new SignJWT({ sub: 'test-client', jti: randomUUID() })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(secret);
}
