// Writes a transfer plan to the response: small bodies in one write, large ones pumped from the open file with back-pressure; or a hand-off that leaves the body to nginx or the object store.

import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { DispositionType } from './content-disposition.js';
import { DELIVERY_HEADER, type DeliveryOutcome, type DeliveryRequest, type HandOff } from './delivery.js';
import { bodyLength, type OpenFile } from '../layers/layer.js';
import type { TransferPlan, TransferRequest } from './plan-transfer.js';

/** What the access log reads once the response has closed. */
export interface TransferRecord {
  /** Body bytes handed to the response so far. */
  bytesRead(): number;
}

/**
 * The parts of a request a transfer plan depends on, and whether it asks
 * filegate to send the body itself (`planDelivery`), read once for both
 * decisions.
 */
export function toTransferRequest(ctx: Context, disposition: DispositionType): TransferRequest & DeliveryRequest {
  const headers = ctx.req.headers;
  const header = (name: string) => (headers[name] as string | undefined) || undefined;
  const delivery = headers[DELIVERY_HEADER] as string | undefined;
  return {
    method: ctx.method,
    disposition,
    range: header('range'),
    ifMatch: header('if-match'),
    ifNoneMatch: header('if-none-match'),
    ifModifiedSince: header('if-modified-since'),
    ifUnmodifiedSince: header('if-unmodified-since'),
    ifRange: header('if-range'),
    proxyAsked: delivery !== undefined && delivery.trim().toLowerCase() === 'proxy',
  };
}

/** What the access line and the metrics read of how a file response's body went. */
export interface DeliveryRecord {
  delivery?: DeliveryOutcome;
  /** Body bytes another side was left to send (a hand-off's planned length). */
  offloadedBytes?: number;
}

/** A fresh multipart boundary: 24 random hex digits, which no file part can be expected to contain. */
export function newBoundary(): string {
  return `filegate-${randomBytes(12).toString('hex')}`;
}

/**
 * Bodies up to this size are read in one go and written with one `end()`:
 * for small files the round trips of a stream, not the bytes, are the cost.
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/**
 * Sends `plan`, reading its body from `file`, and takes ownership of the
 * file: its descriptor is released once the body has been read (small
 * bodies), once the body has been written or the response cut (a client
 * that went away, a failed read), or at once when there is no body.
 */
export async function sendTransfer(ctx: Context, plan: TransferPlan, file: OpenFile): Promise<void> {
  const { res } = ctx;
  let small: Buffer | null = null;
  if (plan.body.length > 0 && bodyLength(plan.body) <= SMALL_BODY_BYTES) {
    try {
      small = await file.read(plan.body);
    } finally {
      file.close();
    }
  }
  // The head in one call: the plan's headers are strings filegate made, so
  // Koa's per-header normalising (`ctx.set`) has nothing to do for them.
  res.writeHead(plan.status, plan.headers);
  ctx.respond = false;
  (ctx.state as DeliveryRecord).delivery = 'proxy';
  if (small !== null) {
    (ctx.state as { transfer?: TransferRecord }).transfer = { bytesRead: () => small.length };
    res.end(small);
    return;
  }
  if (plan.body.length === 0) {
    file.close();
    res.end();
    return;
  }
  let bytes = 0;
  (ctx.state as { transfer?: TransferRecord }).transfer = { bytesRead: () => bytes };
  const counted = (count: number) => {
    bytes += count;
  };
  void file.writeTo(plan.body, res, counted).then(
    () => res.end(),
    () => {
      // The client went away, or a read failed after the headers were sent:
      // the response can only be cut, so the client sees a truncated body.
      if (!res.destroyed) res.destroy();
    },
  ).finally(() => file.close());
}

/**
 * Writes a hand-off (a 302 to the object store, or an X-Accel-Redirect
 * answer to nginx) with no body, and closes `file` at once: the other side
 * opens the bytes itself.
 */
export function sendHandOff(ctx: Context, handOff: HandOff, file: OpenFile): void {
  file.close();
  ctx.status = handOff.status;
  ctx.set(handOff.headers);
  ctx.respond = false;
  const record = ctx.state as DeliveryRecord;
  record.delivery = handOff.outcome;
  record.offloadedBytes = handOff.bodyBytes;
  ctx.res.end();
}
