// GET/HEAD /api/download: one file, every check, every transfer header.

import type { Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { authorize } from '../auth/principal.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import { mediaTypeOf } from '../files/file-types.js';
import { parseQueryWith, readQuery } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import { parseLayerPath } from '../paths/layer-path.js';
import { planTransfer, type TransferOptions } from '../transfer/plan-transfer.js';
import { sendTransfer, toTransferRequest } from '../transfer/send-transfer.js';

export const downloadQuerySchema = z.object({
  filepath: z.string(),
  fstype: z.string().min(1).optional(),
  disposition: z.enum(['attachment', 'inline']).default('attachment'),
});

/** The download handler: authenticate (done before), parse, authorize, open, check, plan, send. */
export function createDownloadRoute(layers: Layers, options: TransferOptions): Middleware {
  return async (ctx) => {
    const principal = principalOf(ctx);
    const input = parseQueryWith(readQuery(ctx), downloadQuerySchema);
    const filepath = parseLayerPath(input.filepath, 'filepath');
    const layer = resolveLayer(layers, input.fstype);
    ctx.state.layer = layer.name;
    authorize(principal, { scope: 'files:read', layer: layer.name, segments: filepath.segments, shown: filepath.text });
    const file = await openAllowedFile(layer, principal, filepath);
    try {
      const filename = filepath.segments.at(-1) ?? '';
      const plan = planTransfer(toTransferRequest(ctx, input.disposition), { stat: file.stat, filename, mediaType: mediaTypeOf(filename) }, options);
      await sendTransfer(ctx, plan, file);
    } catch (error) {
      file.close();
      throw error;
    }
  };
}
