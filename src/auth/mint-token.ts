// Mints HS* tokens from the configured secret, for the development banner and `npm run token`.

import { createSecretKey } from 'node:crypto';
import { SignJWT } from 'jose';

export interface MintOptions {
  secret: string;
  algorithm?: 'HS256' | 'HS384' | 'HS512';
  subject?: string;
  scope?: string;
  paths?: string[];
  fstypes?: string[];
  /** Lifetime in seconds. */
  expiresIn: number;
  issuer?: string | null;
  audience?: string | null;
}

/** A signed JWT carrying the given claims and an `exp`. */
export async function mintToken(options: MintOptions): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (options.scope !== undefined) claims.scope = options.scope;
  if (options.paths !== undefined) claims.paths = options.paths;
  if (options.fstypes !== undefined) claims.fstypes = options.fstypes;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.algorithm ?? 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresIn);
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(createSecretKey(Buffer.from(options.secret, 'utf8')));
}
