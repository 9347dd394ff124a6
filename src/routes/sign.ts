// POST /api/sign: a presigned URL for one file, usable without a token until it expires.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { authorize, checkScope } from '../auth/principal.js';
import { parseDuration } from '../config/units.js';
import type { FilePolicy } from '../files/file-policy.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import { readJsonBody } from '../http/json-body.js';
import { parseWithSchema } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import { parseLayerPath, toLayerPathText, type LayerPath } from '../paths/layer-path.js';
import { signDownload, type UrlSigner } from '../signing/url-signer.js';

/** How long a signed URL should last: seconds, or a duration like "15m" (cut to `signing.maxTtl`). */
export const expiresInSchema = z.union([z.number().int().positive(), z.string().regex(/^\d+(s|m|h|d)$/, 'seconds, or a duration like "15m"')]);

/** `expires_in` in milliseconds; undefined when it was not given (`signing.defaultTtl` then applies). */
export function toRequestedMs(expiresIn: z.output<typeof expiresInSchema> | undefined): number | undefined {
  if (expiresIn === undefined) return undefined;
  return typeof expiresIn === 'number' ? expiresIn * 1000 : parseDuration(expiresIn)!;
}

/** The body of POST /api/sign. `expires_in` is seconds, or a duration like "15m". */
export const signBodySchema = z.strictObject({
  filepath: z.string(),
  fstype: z.string().min(1).optional(),
  expires_in: expiresInSchema.optional(),
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

/** The sign handler: authenticate (done before), parse, then presign the file. */
export function createSignRoute(layers: Layers, signer: UrlSigner, baseUrlOf: BaseUrlOf): Middleware {
  return async (ctx) => {
    const input = parseWithSchema(signBodySchema, await readJsonBody(ctx), 'field');
    const filepath = parseLayerPath(input.filepath, 'filepath');
    const layer = resolveLayer(layers, input.fstype);
    ctx.body = await presignFile(ctx, signer, baseUrlOf, { layer, filepath, disposition: input.disposition, requestedMs: toRequestedMs(input.expires_in) });
  };
}

/** One file to presign, and for how long. */
export interface FileToPresign {
  readonly layer: Layer;
  readonly filepath: LayerPath;
  readonly disposition?: 'attachment' | 'inline' | undefined;
  /** The lifetime asked for; `signing.defaultTtl` when absent. */
  readonly requestedMs?: number | undefined;
  /** A route alias's own `types`/`extensions`, checked after the layer's. */
  readonly routePolicy?: FilePolicy | undefined;
}

/**
 * Presigns a file as POST /api/sign does, for it and route aliases alike:
 * authorize (the scope `files:sign`, and reading the file: a token cannot
 * hand out what it could not fetch itself), check that the file is
 * downloadable now, sign GET and HEAD until the expiry the signer allows.
 */
export async function presignFile(ctx: Context, signer: UrlSigner, baseUrlOf: BaseUrlOf, request: FileToPresign): Promise<z.output<typeof signResponseSchema>> {
  const principal = principalOf(ctx);
  const { layer, filepath } = request;
  ctx.state.layer = layer.name;
  checkScope(principal, 'files:sign');
  authorize(principal, { scope: 'files:read', layer: layer.name, segments: filepath.segments, shown: filepath.text });
  (await openAllowedFile(layer, principal, filepath, request.routePolicy)).close();
  const expires = signer.expiryFor(request.requestedMs, principal.expiresAt ?? null);
  // The layer path itself: what a route alias was asked for names no file to download.
  const urls = signDownload(signer, { filepath: toLayerPathText(filepath), fstype: layer.name, disposition: request.disposition }, expires);
  const base = baseUrlOf(ctx);
  return { download_url: base + urls.get, head_url: base + urls.head, expiry: expires };
}
