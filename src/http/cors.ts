// CORS for browser file browsers: off unless `cors.origins` lists them; preflights answered before authentication.

import type { Context, Middleware } from 'koa';
import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';

// What a file browser needs to read from a response: the saved name, ranges, sizes, validators, ids and limits.
const EXPOSED = [
  'Content-Disposition', 'Content-Range', 'Content-Length', 'Accept-Ranges', 'ETag', 'Last-Modified',
  'X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-Archive-Entries', 'X-Archive-Skipped',
].join(', ');
const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Range', 'If-Range', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since', 'X-Request-Id',
].join(', ');
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT';

/**
 * CORS middleware, or null when `cors.origins` is empty (the default: no
 * CORS header is ever sent). An allowed origin is echoed (with
 * `Vary: Origin`), or `*` is sent when the list holds "*" and credentials
 * are off; credentials are never allowed with the wildcard (the config
 * refuses it). A preflight (OPTIONS with Access-Control-Request-Method) is
 * answered 204 before authentication, as browsers send it without
 * credentials; a preflight from an origin not listed is 403. The headers are
 * set before the route runs, so streamed bodies send them too, and the error
 * renderer keeps them.
 */
export function createCors(cors: Config['cors']): Middleware | null {
  if (cors.origins.length === 0) return null;
  const wildcard = cors.origins.includes('*');
  const listed = new Set(cors.origins);
  const maxAge = String(Math.floor(cors.maxAge / 1000));

  // With credentials the list holds no "*" (the config refuses it), so an allowed origin is always echoed.
  const allowedOrigin = (origin: string): string | null => {
    if (listed.has(origin)) return origin;
    return wildcard ? '*' : null;
  };
  const allow = (ctx: Context, allowed: string) => {
    ctx.set('Access-Control-Allow-Origin', allowed);
    if (cors.allowCredentials) ctx.set('Access-Control-Allow-Credentials', 'true');
    ctx.vary('Origin');
  };

  return async (ctx, next) => {
    const origin = ctx.get('origin');
    if (origin === '') return next();
    const allowed = allowedOrigin(origin);
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '') {
      if (allowed === null) fail('FORBIDDEN', `the origin ${JSON.stringify(origin.slice(0, 200))} is not allowed (cors.origins)`);
      allow(ctx, allowed);
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', maxAge);
      ctx.status = 204;
      return;
    }
    if (allowed === null) return next();
    allow(ctx, allowed);
    ctx.set('Access-Control-Expose-Headers', EXPOSED);
    await next();
  };
}
