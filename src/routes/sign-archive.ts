// POST /api/sign/archive: a signed GET /api/archive URL for a selection, so a plain link (a browser's download) starts its ZIP without a token.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { walkSelection } from '../archives/archive-walk.js';
import { principalOf } from '../auth/authenticate.js';
import { authorize, checkScope } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';
import { readJsonBody } from '../http/json-body.js';
import { parseWithSchema } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import { parseLayerPath, toLayerPathText, type LayerPath } from '../paths/layer-path.js';
import { signArchiveDownload, type UrlSigner } from '../signing/url-signer.js';
import { archiveBodySchema } from './archive.js';
import { expiresInSchema, toRequestedMs, type BaseUrlOf } from './sign.js';

/**
 * The longest signed archive URL, path and query (the origin aside): 8 KB,
 * what common proxies accept in a request line (nginx's default
 * `large_client_header_buffers` is 8k). A longer selection is refused when
 * signing, pointing to a package, rather than minted as a link that breaks
 * on the way.
 */
export const MAX_ARCHIVE_LINK_BYTES = 8192;

/** The body of POST /api/sign/archive: what POST /api/archive takes, and how long the link should last. */
export const signArchiveBodySchema = archiveBodySchema.extend({ expires_in: expiresInSchema.optional() });

/** The answer of POST /api/sign/archive. */
export const signArchiveResponseSchema = z.strictObject({
  download_url: z.url().describe('GET it, with no token, until `expiry`: the archive, streamed'),
  expiry: z.number().int().describe('Unix seconds'),
  entries: z.number().int().min(0).describe('files and folders the archive holds, as walked when signing'),
  skipped: z.number().int().min(0).describe('entries it leaves out because a download would refuse them'),
  bytes: z.number().int().min(0).describe('bytes of the files it holds, as walked when signing'),
});

/** The archive link handler: authenticate (done before), parse, then presign the selection. */
export function createSignArchiveRoute(layers: Layers, signer: UrlSigner, baseUrlOf: BaseUrlOf, config: Config): Middleware {
  return async (ctx) => {
    const input = parseWithSchema(signArchiveBodySchema, await readJsonBody(ctx), 'field');
    const targets = input.paths.map((text) => parseLayerPath(text, 'path'));
    const layer = resolveLayer(layers, input.fstype);
    const selection = { layer, targets, format: input.format, name: input.name, requestedMs: toRequestedMs(input.expires_in) };
    const link = await presignArchive(ctx, signer, baseUrlOf, config.archive, selection);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = link;
  };
}

/** A selection to presign as one archive. */
export interface ArchiveToPresign {
  readonly layer: Layer;
  readonly targets: readonly LayerPath[];
  readonly format: 'zip' | 'tar.gz';
  readonly name?: string | undefined;
  /** The lifetime asked for; `signing.defaultTtl` when absent. */
  readonly requestedMs?: number | undefined;
}

/**
 * Presigns GET /api/archive of a selection: authorize (the scope
 * `files:sign`, and archiving every path: a token cannot hand out what it
 * could not archive itself), sign until the expiry the signer allows
 * (`signing.maxTtl`, the token's own expiry), refuse a URL longer than
 * MAX_ARCHIVE_LINK_BYTES (BAD_REQUEST), then walk the selection as the
 * archive will, so what it would refuse (a path absent or refused, the
 * entry and byte limits) is answered now and not by the link. The link
 * needs no token; its principal archives exactly these paths of this layer.
 */
export async function presignArchive(ctx: Context, signer: UrlSigner, baseUrlOf: BaseUrlOf, limits: Config['archive'], request: ArchiveToPresign): Promise<z.output<typeof signArchiveResponseSchema>> {
  const principal = principalOf(ctx);
  const { layer, targets } = request;
  ctx.state.layer = layer.name;
  checkScope(principal, 'files:sign');
  for (const target of targets) authorize(principal, { scope: 'files:archive', layer: layer.name, segments: target.segments, shown: target.text });
  const expires = signer.expiryFor(request.requestedMs, principal.expiresAt ?? null);
  const url = signArchiveDownload(signer, { fstype: layer.name, paths: targets.map(toLayerPathText), format: request.format, name: request.name }, expires);
  const length = Buffer.byteLength(url, 'utf8');
  if (length > MAX_ARCHIVE_LINK_BYTES) {
    fail('BAD_REQUEST', `the selection is too long for one link (${length} bytes of URL, at most ${MAX_ARCHIVE_LINK_BYTES}): select the folder that holds these paths, or POST /api/packages`);
  }
  const walk = new AbortController();
  ctx.res.once('close', () => walk.abort());
  const selection = await walkSelection(layer, principal, targets, limits, walk.signal);
  return { download_url: baseUrlOf(ctx) + url, expiry: expires, entries: selection.entries.length, skipped: selection.skipped, bytes: selection.totalBytes };
}
