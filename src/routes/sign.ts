// POST /api/sign: a presigned URL for one file, usable without a token until it expires.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { authorize, checkScope } from '../auth/principal.js';
import { parseDuration } from '../config/units.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import { readJsonBody } from '../http/json-body.js';
import { parseWithSchema } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import { parseLayerPath } from '../paths/layer-path.js';
import { signDownload, type UrlSigner } from '../signing/url-signer.js';

/** The body of POST /api/sign. `expires_in` is seconds, or a duration like "15m". */
export const signBodySchema = z.strictObject({
  filepath: z.string(),
  fstype: z.string().min(1).optional(),
  expires_in: z.union([z.number().int().positive(), z.string().regex(/^\d+(s|m|h|d)$/, 'seconds, or a duration like "15m"')]).optional(),
  disposition: z.enum(['attachment', 'inline']).optional(),
});

/** The answer of POST /api/sign: absolute URLs for GET and HEAD, and their expiry in Unix seconds. */
export const signResponseSchema = z.strictObject({
  download_url: z.url(),
  head_url: z.url(),
  expiry: z.number().int(),
});

/** Where signed URLs point: the configured base URL, or the scheme and host the request came to (`http://host:port`). */
export type BaseUrlOf = (ctx: Context) => string;

/**
 * The sign handler: authenticate (done before), parse, authorize (the scope
 * `files:sign`, and reading the file: a token cannot hand out what it could
 * not fetch itself), check that the file is downloadable now, sign GET and HEAD.
 */
export function createSignRoute(layers: Layers, signer: UrlSigner, baseUrlOf: BaseUrlOf): Middleware {
  return async (ctx) => {
    const principal = principalOf(ctx);
    const input = parseWithSchema(signBodySchema, await readJsonBody(ctx), 'field');
    const filepath = parseLayerPath(input.filepath, 'filepath');
    const layer = resolveLayer(layers, input.fstype);
    ctx.state.layer = layer.name;
    checkScope(principal, 'files:sign');
    authorize(principal, { scope: 'files:read', layer: layer.name, segments: filepath.segments, shown: filepath.text });
    (await openAllowedFile(layer, principal, filepath)).close();
    const requestedMs = typeof input.expires_in === 'number' ? input.expires_in * 1000 : input.expires_in === undefined ? undefined : parseDuration(input.expires_in)!;
    const expires = signer.expiryFor(requestedMs, principal.expiresAt ?? null);
    const urls = signDownload(signer, { filepath: filepath.text, fstype: layer.name, disposition: input.disposition }, expires);
    const base = baseUrlOf(ctx);
    ctx.body = { download_url: base + urls.get, head_url: base + urls.head, expiry: expires };
  };
}
