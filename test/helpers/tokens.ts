// Mints real JWTs the way callers do, including the malformed and hostile ones the tests need.

import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { TEST_SECRET } from './server.js';

export interface TokenClaims extends JWTPayload {
  scope?: string;
  paths?: unknown;
  fstypes?: unknown;
}

const hmacKey = (secret: string) => createSecretKey(Buffer.from(secret, 'utf8'));

/**
 * An HS256 token signed with the test secret, valid for an hour unless
 * `claims.exp` says otherwise (`exp: undefined` leaves it out).
 */
export async function hsToken(claims: TokenClaims = {}, options: { secret?: string; alg?: string; header?: Record<string, unknown> } = {}): Promise<string> {
  const body: TokenClaims = { sub: 'tester', scope: 'files:read files:list', exp: nowSeconds() + 3600, ...claims };
  if ('exp' in claims && claims.exp === undefined) delete body.exp;
  return new SignJWT(body)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT', ...options.header })
    .sign(hmacKey(options.secret ?? TEST_SECRET));
}

/** A token signed with an asymmetric private key. */
export async function signWith(privateKey: KeyObject, alg: string, claims: TokenClaims = {}): Promise<string> {
  const body: TokenClaims = { sub: 'tester', scope: 'files:read', exp: nowSeconds() + 3600, ...claims };
  return new SignJWT(body).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey);
}

/** An RSA key pair with the public key as PEM. */
export function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** An unsigned token (`alg: none`), as an attacker would write it by hand. */
export function unsignedToken(claims: TokenClaims = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'tester', scope: 'files:read', exp: nowSeconds() + 3600, ...claims })}.`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
