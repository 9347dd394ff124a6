// GET /api/access: what the caller's token may do here (its scopes, paths and expiry) and the layers it may name: a file browser's first question.

import type { Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { checkScope, type Principal } from '../auth/principal.js';
import { SCOPES } from '../config/schema.js';
import type { Layers } from '../layers/create-layers.js';

/** The answer of GET /api/access; `toAccessView` builds it. */
export const accessResponseSchema = z.strictObject({
  subject: z.string().nullable().describe('the token\'s `sub`'),
  scopes: z.array(z.enum(SCOPES)).describe('what the token may do: its `scope` claim, or auth.defaultScopes without one'),
  paths: z.array(z.string()).nullable().describe('the path prefixes the token is limited to (`paths` claim); null for whole layers'),
  expires_at: z.iso.datetime().nullable().describe('when the token stops being accepted (its `exp`, ISO 8601 in UTC); null when it never does'),
  layers: z
    .array(z.strictObject({ fstype: z.string(), default: z.boolean().describe('true for the layer used when a request names none') }))
    .describe('the layers the token may name as `fstype` (within its `fstypes` claim), in the configured order'),
});

export type AccessView = z.output<typeof accessResponseSchema>;

/**
 * The access handler: authenticate (done before), then describe the
 * principal to a token that may list (`files:list`: what a file browser
 * starts from); it learns only its own grants and the layers it may name.
 */
export function createAccessRoute(layers: Layers): Middleware {
  return (ctx) => {
    const principal = principalOf(ctx);
    checkScope(principal, 'files:list');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = toAccessView(principal, [...layers.byName.keys()], layers.defaultName);
  };
}

/**
 * What `principal` may do, and which of `layerNames` it may name: those
 * within its `fstypes` (every layer without that claim). Layers outside
 * them are left out, as UNKNOWN_FSTYPE never lists layers: a token limited
 * to some learns nothing of the others.
 */
export function toAccessView(principal: Principal, layerNames: readonly string[], defaultName: string): AccessView {
  const expiresAt = principal.expiresAt ?? null;
  return {
    subject: principal.subject,
    scopes: SCOPES.filter((scope) => principal.scopes.has(scope)),
    paths: principal.paths === null ? null : principal.paths.map((segments) => (segments.length === 0 ? '/' : segments.join('/'))),
    expires_at: expiresAt === null ? null : new Date(expiresAt * 1000).toISOString(),
    layers: layerNames.filter((name) => principal.fstypes === null || principal.fstypes.includes(name)).map((fstype) => ({ fstype, default: fstype === defaultName })),
  };
}
