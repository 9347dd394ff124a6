// GET/HEAD /api/download: one file, every check, every transfer header.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { authorize } from '../auth/principal.js';
import type { FilePolicy } from '../files/file-policy.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import { mediaTypeOf } from '../files/file-types.js';
import { parseQueryWith, readQuery } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import { parseLayerPath, type LayerPath } from '../paths/layer-path.js';
import { planDelivery } from '../transfer/delivery.js';
import { planTransfer, type TransferOptions } from '../transfer/plan-transfer.js';
import { sendHandOff, sendTransfer, toTransferRequest } from '../transfer/send-transfer.js';

export const downloadQuerySchema = z.object({
  filepath: z.string(),
  fstype: z.string().min(1).optional(),
  disposition: z.enum(['attachment', 'inline']).default('attachment'),
});

/** One file to serve: where it is, how it is saved, and any narrower type rule of a route alias. */
export interface FileToServe {
  readonly layer: Layer;
  readonly filepath: LayerPath;
  readonly disposition: 'attachment' | 'inline';
  /** The saved name; the file's own name when absent. */
  readonly filename?: string | undefined;
  /** A route alias's own `types`/`extensions`, checked after the layer's. */
  readonly routePolicy?: FilePolicy | undefined;
}

/** The download handler: authenticate (done before), parse, then serve the file. */
export function createDownloadRoute(layers: Layers, options: TransferOptions): Middleware {
  return async (ctx) => {
    const input = parseQueryWith(readQuery(ctx), downloadQuerySchema);
    const filepath = parseLayerPath(input.filepath, 'filepath');
    await serveFile(ctx, { layer: resolveLayer(layers, input.fstype), filepath, disposition: input.disposition }, options);
  };
}

/**
 * Serves one file as downloads do, for the download route and route
 * aliases alike: authorize, open with every check, plan (preconditions,
 * ranges, headers), then send the body, or hand it to the layer's delivery
 * (a redirect to the object store, X-Accel-Redirect to nginx) when that
 * sends exactly what was planned.
 */
export async function serveFile(ctx: Context, target: FileToServe, options: TransferOptions): Promise<void> {
  const { layer, filepath } = target;
  ctx.state.layer = layer.name;
  authorize(principalOf(ctx), { scope: 'files:read', layer: layer.name, segments: filepath.segments, shown: filepath.text });
  const file = await openAllowedFile(layer, principalOf(ctx), filepath, target.routePolicy);
  try {
    const filename = target.filename ?? filepath.segments.at(-1) ?? '';
    const request = toTransferRequest(ctx, target.disposition);
    const plan = planTransfer(request, { stat: file.stat, filename, mediaType: mediaTypeOf(filename) }, options);
    const handOff = planDelivery(request, plan, file, layer.delivery, Date.now());
    if (handOff === null) await sendTransfer(ctx, plan, file);
    else sendHandOff(ctx, handOff, file);
  } catch (error) {
    file.close();
    throw error;
  }
}
