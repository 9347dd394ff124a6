// Finds the request's bearer token, verifies it, and puts the principal on the context.

import type { Context, Middleware } from 'koa';
import type { Scope } from '../config/schema.js';
import { fail, isFilegateError } from '../errors.js';
import { readQuery, type Query } from '../http/query.js';
import { parseLayerPath } from '../paths/layer-path.js';
import { hasSignature, hasSignatureName, type SignedGrant, type UrlSigner } from '../signing/url-signer.js';
import type { Principal } from './principal.js';
import { unauthorized, type TokenVerifier } from './verify-token.js';

export interface AuthenticateOptions {
  allowQueryToken: boolean;
}

/**
 * Middleware that authenticates before anything else is looked at, so an
 * anonymous caller learns nothing about parameters or files. Accepts
 * `Authorization: Bearer` and, unless turned off, the `token` parameter;
 * both at once is refused (RFC 6750 §2: one method per request).
 */
export function createAuthenticate(verify: TokenVerifier, options: AuthenticateOptions): Middleware {
  return async (ctx, next) => {
    const token = findToken(ctx, options);
    ctx.state.principal = await verify(token);
    await next();
  };
}

function findToken(ctx: Context, options: AuthenticateOptions): string {
  const header = ctx.get('authorization');
  const fromQuery = queryTokens(ctx);
  if (header !== '') {
    const match = /^Bearer +([^\s]+) *$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    if (fromQuery.length > 0) throw unauthorized('send the token in the Authorization header or the token parameter, not both', 'invalid_request');
    return match[1]!;
  }
  if (fromQuery.length === 0) throw unauthorized('no token was sent; use "Authorization: Bearer <token>"', 'invalid_request');
  if (!options.allowQueryToken) throw unauthorized('tokens in the query string are turned off here; use "Authorization: Bearer <token>"', 'invalid_request');
  if (fromQuery.length > 1) throw unauthorized('the token parameter is given more than once', 'invalid_request');
  return fromQuery[0]!;
}

/**
 * Middleware for the routes a signed URL may reach: a request carrying a
 * signature (`expires`, `kid` or `sig`) is judged by it alone, and becomes a
 * principal holding `scope` for the one file (`filepath`, `fstype`) or the
 * one owner (`sub`) the URL names; the signature already binds the method
 * and path. Authorization then runs as for a token. Any other request needs
 * a token, as with `createAuthenticate`.
 */
export function createAuthenticateOrSigned(verify: TokenVerifier, options: AuthenticateOptions, signer: UrlSigner, scope: Scope): Middleware {
  const byToken = createAuthenticate(verify, options);
  return async (ctx, next) => {
    const query = readQueryOrNull(ctx);
    if (query === null ? !hasSignatureName(ctx.querystring) : !hasSignature(query)) return byToken(ctx, next);
    if (query === null) fail('FORBIDDEN', 'the signed URL is malformed: its query string is not valid percent-encoded UTF-8');
    ctx.state.principal = toSignedPrincipal(signer.verify(ctx.method, ctx.path, query), scope);
    await next();
  };
}

/** The principal of a verified signed URL. */
export function toSignedPrincipal(grant: SignedGrant, scope: Scope): Principal {
  const first = (name: string) => grant.query.get(name)?.[0];
  const filepath = first('filepath');
  const fstype = first('fstype');
  return {
    subject: first('sub') ?? null,
    scopes: new Set([scope]),
    paths: filepath === undefined ? null : [parseLayerPath(filepath).segments],
    fstypes: fstype === undefined ? null : [fstype],
    expiresAt: grant.expires,
    link: `${grant.kid}.${grant.signature}`,
  };
}

/** The query when it parses; null otherwise (the route reports a bad query, after authentication). */
export function readQueryOrNull(ctx: Context): Query | null {
  try {
    return readQuery(ctx);
  } catch (error) {
    if (isFilegateError(error)) return null;
    throw error;
  }
}

/** The `token` parameters, or none when the query cannot be parsed (the route reports that, after authentication). */
function queryTokens(ctx: Context): readonly string[] {
  return readQueryOrNull(ctx)?.get('token') ?? [];
}

/** The principal authenticated for this request. */
export function principalOf(ctx: Context): Principal {
  return (ctx.state as { principal: Principal }).principal;
}
