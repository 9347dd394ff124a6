// Verifies a JWT against the configured keys and turns its claims into a principal.

import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as jose from 'jose';
import type { AuthConfig, Scope } from '../config/schema.js';
import { FilegateError } from '../errors.js';
import { parseLayerPath, hasDotSegment } from '../paths/layer-path.js';
import { isScope, type Principal } from './principal.js';

/** Larger tokens are refused before any parsing (SPEC, Authentication). */
export const MAX_TOKEN_BYTES = 8 * 1024;

// Headers that make a verifier fetch or trust a key named by the token itself.
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

export type TokenVerifier = (token: string) => Promise<Principal>;

/** A 401 with the `WWW-Authenticate: Bearer` challenge of RFC 6750 §3. */
export function unauthorized(message: string, error: 'invalid_request' | 'invalid_token' = 'invalid_token'): FilegateError {
  // RFC 6750 §3: error_description is printable ASCII without '"' or a backslash.
  const description = message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
  return new FilegateError('UNAUTHORIZED', message, {
    headers: { 'WWW-Authenticate': `Bearer realm="filegate", error="${error}", error_description="${description}"` },
  });
}

/**
 * Reads the configured key material once and returns the verifier. HS*
 * tokens are checked only against the secret and every other algorithm only
 * against the public key or JWKS, so one kind of key can never stand in for
 * the other (key confusion).
 */
export async function createTokenVerifier(auth: AuthConfig): Promise<TokenVerifier> {
  const secret = auth.secret === null ? null : createSecretKey(Buffer.from(auth.secret, 'utf8'));
  const publicKey = auth.publicKeyFile === null ? null : createPublicKey(await readFile(auth.publicKeyFile, 'utf8'));
  const jwks = auth.jwksFile === null ? null : jose.createLocalJWKSet(JSON.parse(await readFile(auth.jwksFile, 'utf8')) as jose.JSONWebKeySet);

  const getKey: jose.JWTVerifyGetKey = async (header, token) => {
    if (header.alg?.startsWith('HS')) {
      if (secret) return secret;
    } else if (publicKey) {
      return publicKey;
    } else if (jwks) {
      return jwks(header, token);
    }
    throw unauthorized(`no key is configured for algorithm ${header.alg}`);
  };
  // With one kind of key configured, jose is handed that key itself: it refuses any
  // algorithm the key cannot serve, and skips the key lookup (a third of a check's cost).
  const onlyKey = onlyKeyOf(secret, publicKey, jwks !== null);
  const options: jose.JWTVerifyOptions = {
    algorithms: [...auth.algorithms],
    clockTolerance: Math.floor(auth.clockTolerance / 1000),
    requiredClaims: auth.requireExp ? ['exp'] : [],
    ...(auth.issuer === null ? {} : { issuer: auth.issuer }),
    ...(auth.audience === null ? {} : { audience: auth.audience }),
  };
  const defaultScopes = new Set<Scope>(auth.defaultScopes);

  // In whole seconds, as jose compares exp and nbf. Off, every request's token is verified from scratch.
  const verified = auth.rememberTokens ? new VerifiedTokens(Math.floor(auth.clockTolerance / 1000) * 1000) : null;
  return async (token) => {
    const known = verified?.get(token, Date.now());
    if (known !== undefined) return known;
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw unauthorized(`the token is larger than ${MAX_TOKEN_BYTES / 1024} KB`);
    let payload: jose.JWTPayload;
    let header: jose.JWTHeaderParameters;
    try {
      ({ payload, protectedHeader: header } = onlyKey === null ? await jose.jwtVerify(token, getKey, options) : await jose.jwtVerify(token, onlyKey, options));
    } catch (error) {
      // Why a token failed, in the order a reader checks: its header first (read here, on refusal only), then jose's verdict.
      throw headerProblem(token, auth.algorithms) ?? toUnauthorized(error);
    }
    const embedded = embeddedKeyHeader(header);
    if (embedded) throw embeddedKeyRefused(embedded);
    const principal = toPrincipal(payload, defaultScopes);
    verified?.add(token, payload, principal, Date.now());
    return principal;
  };
}

/**
 * What is wrong with a token's protected header, if anything: not a JOSE
 * header, a key of its own, or an algorithm not accepted here. jose checks
 * the algorithm too, but this says which ones are.
 */
function headerProblem(token: string, algorithms: readonly string[]): FilegateError | null {
  let header: jose.ProtectedHeaderParameters;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    return unauthorized('the token is malformed');
  }
  const embedded = embeddedKeyHeader(header);
  if (embedded) return embeddedKeyRefused(embedded);
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    const shown = typeof header.alg === 'string' ? JSON.stringify(header.alg.slice(0, 20)) : '(none)';
    return unauthorized(`the token's algorithm ${shown} is not accepted (accepted: ${algorithms.join(', ')})`);
  }
  return null;
}

/** The first header of `FORBIDDEN_HEADERS` the token carries, if any. */
function embeddedKeyHeader(header: jose.ProtectedHeaderParameters): string | undefined {
  return FORBIDDEN_HEADERS.find((name) => name in header);
}

function embeddedKeyRefused(name: string): FilegateError {
  return unauthorized(`tokens with a "${name}" header are not accepted`);
}

/**
 * The one key every accepted token must be checked with, when only one is
 * configured: the secret (the schema then allows HS* algorithms only) or the
 * public key. With a JWKS, or a secret and a public key together, the key
 * depends on the token, and the lookup decides.
 */
function onlyKeyOf(secret: KeyObject | null, publicKey: KeyObject | null, hasJwks: boolean): KeyObject | null {
  if (hasJwks) return null;
  if (secret !== null && publicKey === null) return secret;
  if (publicKey !== null && secret === null) return publicKey;
  return null;
}

/** Tokens remembered at most; beyond, the oldest is forgotten first. */
const REMEMBERED_TOKENS = 4096;
/** Longer tokens are verified every time: they are rare, and would make the cache big. */
const REMEMBERED_TOKEN_LENGTH = 2048;
/** A remembered token is verified again after this long at most, whatever its exp. */
const REMEMBER_MS = 60_000;

/**
 * Tokens that passed every check, by their exact text, with the window in
 * which they stay valid: `nbf` and `exp` with the clock tolerance, and at
 * most a minute. A caller that sends the same token request after request
 * (an internal service, a browser page) then costs a map lookup instead of
 * a signature check: the signature of the same bytes with the same key
 * cannot change its verdict. Only accepted tokens are kept, so a flood of
 * forged ones cannot fill it; the key material never changes while the
 * process runs.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; from: number; until: number }>();

  constructor(private readonly toleranceMs: number) {}

  get(token: string, now: number): Principal | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (now < entry.from || now >= entry.until) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  add(token: string, payload: jose.JWTPayload, principal: Principal, now: number): void {
    if (token.length > REMEMBERED_TOKEN_LENGTH) return;
    const from = typeof payload.nbf === 'number' ? payload.nbf * 1000 - this.toleranceMs : now;
    const until = Math.min(now + REMEMBER_MS, typeof payload.exp === 'number' ? payload.exp * 1000 + this.toleranceMs : Infinity);
    if (this.entries.size >= REMEMBERED_TOKENS) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal, from, until });
  }
}

function toUnauthorized(error: unknown): FilegateError {
  if (error instanceof FilegateError) return error;
  if (error instanceof jose.errors.JWTExpired) return unauthorized('the token has expired');
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return unauthorized('the token is not valid yet (nbf is in the future)');
    if (error.claim === 'exp') return unauthorized('the token has no expiry (exp claim)');
    if (error.claim === 'iss') return unauthorized('the token was issued by an issuer this service does not accept');
    if (error.claim === 'aud') return unauthorized('the token is meant for another audience');
    return unauthorized(`the token's "${error.claim}" claim is not valid`);
  }
  if (error instanceof jose.errors.JWSSignatureVerificationFailed) return unauthorized('the token signature is invalid');
  if (error instanceof jose.errors.JOSEAlgNotAllowed) return unauthorized('the token algorithm is not accepted');
  if (error instanceof jose.errors.JWKSNoMatchingKey) return unauthorized('no configured key matches the token');
  return unauthorized('the token is malformed or cannot be verified');
}

/** Reads `sub`, `scope`, `paths` and `fstypes`; a malformed claim makes the whole token invalid. */
function toPrincipal(payload: jose.JWTPayload, defaultScopes: ReadonlySet<Scope>): Principal {
  const { sub, scope, paths, fstypes, exp } = payload as Record<string, unknown>;
  if (sub !== undefined && typeof sub !== 'string') throw unauthorized('the token\'s "sub" claim must be a string');
  let scopes = defaultScopes;
  if (scope !== undefined) {
    if (typeof scope !== 'string') throw unauthorized('the token\'s "scope" claim must be a space-separated string');
    scopes = new Set(scope.split(' ').filter(isScope));
  }
  return {
    subject: sub ?? null,
    scopes,
    paths: paths === undefined ? null : parsePathsClaim(paths),
    fstypes: fstypes === undefined ? null : parseStringList(fstypes, 'fstypes'),
    expiresAt: typeof exp === 'number' ? exp : null,
  };
}

function parseStringList(value: unknown, claim: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw unauthorized(`the token's "${claim}" claim must be a list of strings`);
  }
  return value as string[];
}

function parsePathsClaim(value: unknown): string[][] {
  return parseStringList(value, 'paths').map((text) => {
    try {
      const parsed = parseLayerPath(text === '/' ? text : text.replace(/\/$/, ''), 'paths');
      if (!hasDotSegment(parsed.segments)) return [...parsed.segments];
    } catch {
      // reported below
    }
    throw unauthorized('the token\'s "paths" claim holds a path that is not a plain relative path');
  });
}
