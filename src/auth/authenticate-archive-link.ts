// Authenticates GET /api/archive by a token or by a signed archive link, whose principal may archive exactly the paths the link names.

import type { Middleware } from 'koa';
import { fail } from '../errors.js';
import { parseLayerPath } from '../paths/layer-path.js';
import { hasSignature, hasSignatureName, type SignedGrant, type UrlSigner } from '../signing/url-signer.js';
import { createAuthenticate, readQueryOrNull, type AuthenticateOptions } from './authenticate.js';
import type { Principal } from './principal.js';
import type { TokenVerifier } from './verify-token.js';

/**
 * Middleware for the archive route: a request carrying a signature
 * (`expires`, `kid` or `sig`) is judged by it alone (`UrlSigner.verify`
 * binds the method, the path and every parameter) and becomes the link's
 * principal; any other request needs a token, as with `createAuthenticate`.
 * Authorization then runs as for a token.
 */
export function createAuthenticateArchiveLink(verify: TokenVerifier, options: AuthenticateOptions, signer: UrlSigner): Middleware {
  const byToken = createAuthenticate(verify, options);
  return async (ctx, next) => {
    const query = readQueryOrNull(ctx);
    if (query === null ? !hasSignatureName(ctx.querystring) : !hasSignature(query)) return byToken(ctx, next);
    if (query === null) fail('FORBIDDEN', 'the signed URL is malformed: its query string is not valid percent-encoded UTF-8');
    ctx.state.principal = toArchiveLinkPrincipal(signer.verify(ctx.method, ctx.path, query));
    await next();
  };
}

/**
 * The principal of a verified archive link: the scope `files:archive`, the
 * one layer it names (`fstype`), and as path prefixes exactly the `path`s
 * it names, so even the walk below them stays within what was signed. It
 * has no subject: limits count against the link itself, and it lasts until
 * the link's `expires`.
 */
export function toArchiveLinkPrincipal(grant: SignedGrant): Principal {
  const fstype = grant.query.get('fstype')?.[0];
  return {
    subject: null,
    scopes: new Set(['files:archive']),
    paths: (grant.query.get('path') ?? []).map((text) => parseLayerPath(text, 'path').segments),
    fstypes: fstype === undefined ? null : [fstype],
    expiresAt: grant.expires,
    link: `${grant.kid}.${grant.signature}`,
  };
}
