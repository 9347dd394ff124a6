// Finds the request's bearer token, verifies it, and puts the principal on the context.

import type { Context, Middleware } from 'koa';
import { isFilegateError } from '../errors.js';
import { readQuery, type Query } from '../http/query.js';
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

/** The `token` parameters, or none when the query cannot be parsed (the route reports that, after authentication). */
function queryTokens(ctx: Context): readonly string[] {
  let query: Query;
  try {
    query = readQuery(ctx);
  } catch (error) {
    if (isFilegateError(error)) return [];
    throw error;
  }
  return query.get('token') ?? [];
}

/** The principal authenticated for this request. */
export function principalOf(ctx: Context): Principal {
  return (ctx.state as { principal: Principal }).principal;
}
