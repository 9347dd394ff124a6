// Writes a transfer plan to the response, streaming from the open file with back-pressure.

import { pipeline } from 'node:stream';
import type { Context } from 'koa';
import type { OpenFile } from '../layers/layer.js';
import type { TransferPlan } from './plan-transfer.js';

/** What the access log reads once the response has closed. */
export interface TransferRecord {
  /** Body bytes read from the file so far. */
  bytesRead(): number;
}

/**
 * Sends `plan`, reading its ranges from `file`, and takes ownership of the
 * file: its descriptor is released when the response closes, whether it
 * finished or the client went away (then the read stream is destroyed at once).
 */
export function sendTransfer(ctx: Context, plan: TransferPlan, file: OpenFile): void {
  const { res } = ctx;
  ctx.status = plan.status;
  ctx.set(plan.headers);
  ctx.respond = false;
  const [range] = plan.ranges;
  if (range === undefined) {
    file.close();
    res.end();
    return;
  }
  const stream = file.createReadStream(range.start, range.end);
  // The descriptor is released when the stream has closed, which waits for a
  // read still in flight: closing it earlier would let the kernel hand the
  // number to another open while that read is pending.
  stream.once('close', () => file.close());
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  (ctx.state as { transfer?: TransferRecord }).transfer = { bytesRead: () => bytes };
  pipeline(stream, res, (error) => {
    // A client that went away is normal; a read error mid-body can only cut the response.
    if (error && !res.destroyed) res.destroy(error);
  });
}
