// Writes byte ranges of an open descriptor to a writable, double-buffered, with recycled buffers.

import type { Writable } from 'node:stream';
import type { BodyPiece } from './layer.js';

/** The bytes to read from the file: the ranges of `pieces`, not the literal parts. */
function rangeBytes(pieces: readonly BodyPiece[]): number {
  return pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? 0 : piece.end - piece.start + 1), 0);
}

/** Reads `length` bytes at `position` into `buffer`; resolves with the count read. */
export type PositionalRead = (buffer: Buffer, length: number, position: number) => Promise<number>;

/**
 * Recycles read buffers between chunks and transfers, so a long download
 * reuses two buffers instead of taking a fresh one per chunk: freed chunks
 * would otherwise wait for a garbage collection and swell the RSS (about
 * 30 MB seen on Node 20). Buffers come in power-of-two sizes, each size with
 * its own free list. Every transfer reads into buffers of `budget / (2 ×
 * transfers running)`, rounded down, between 64 KB and `maxChunk`, and
 * refits its buffers to that size before each read (`fit`), so as transfers
 * start the running ones shrink and as they end the rest grow back: all read
 * buffers stay within `budget`, give or take the one chunk each transfer may
 * still be writing, until so many run that each is down to 64 KB. A body
 * smaller than one chunk gets a buffer no larger than it needs.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  private active = 0;

  constructor(
    /** The read size of a transfer running alone. */
    private readonly maxChunk: number,
    /** The bytes all running transfers' buffers may hold together. */
    private readonly budget: number,
    private readonly minChunk = 64 * 1024,
  ) {}

  /** Two buffers for a new transfer of `bodyBytes`, sized for the transfers running now. */
  acquire(bodyBytes: number): [Buffer, Buffer] {
    this.active += 1;
    const size = this.sizeFor(bodyBytes);
    return [this.take(size), this.take(size)];
  }

  /**
   * `buffer` itself when it has the size a transfer should read into now
   * (`remainingBytes` still to read), or a buffer of that size in its place,
   * `buffer` going back to the pool. Only for a buffer no write still holds.
   */
  fit(buffer: Buffer, remainingBytes: number): Buffer {
    const size = this.sizeFor(remainingBytes);
    // Shrink when the share shrank; grow when the share grew and the rest of the
    // body needs more. A body's last, short reads keep the buffer they have.
    const shrink = buffer.length > this.sizeFor(Number.POSITIVE_INFINITY);
    if (!shrink && buffer.length >= size) return buffer;
    this.recycle(buffer);
    return this.take(size);
  }

  /** Gives a transfer's buffers back; `reusable` false when a write may still hold one (the transfer failed). */
  release(buffers: readonly Buffer[], reusable: boolean): void {
    this.active -= 1;
    if (reusable) for (const buffer of buffers) this.recycle(buffer);
  }

  private sizeFor(bodyBytes: number): number {
    const share = Math.floor(this.budget / (2 * Math.max(1, this.active)));
    // Round the share down, so the budget holds; round a small body up, so it fits one read.
    let size = Math.max(this.minChunk, Math.min(this.maxChunk, 2 ** Math.floor(Math.log2(Math.max(1, share)))));
    if (bodyBytes < size) size = Math.max(this.minChunk, Math.min(size, 2 ** Math.ceil(Math.log2(Math.max(1, bodyBytes)))));
    return size;
  }

  private recycle(buffer: Buffer): void {
    // Keep at most half the budget idle; the rest goes to the collector.
    if (this.freeBytes + buffer.length > this.budget / 2) return;
    const list = this.free.get(buffer.length) ?? [];
    list.push(buffer);
    this.free.set(buffer.length, list);
    this.freeBytes += buffer.length;
  }

  private take(size: number): Buffer {
    const buffer = this.free.get(size)?.pop();
    if (buffer === undefined) return Buffer.allocUnsafeSlow(size);
    this.freeBytes -= size;
    return buffer;
  }
}

/**
 * Writes `pieces` to `out` in order: literal pieces as they are, ranges read
 * chunk by chunk. While one chunk is being written the next is read into the
 * other buffer; a buffer is read into again only once its write has
 * completed, so a slow client holds two buffers, never more (back-pressure).
 * `onWrite` hears of each chunk handed to `out`. Resolves with the byte
 * count once everything is written; rejects when a read fails, the file
 * ends early, or `out` is closed first. No read is in flight when it settles,
 * so the caller may close the descriptor then.
 */
export async function pumpPieces(
  pieces: readonly BodyPiece[],
  read: PositionalRead,
  out: Writable,
  pool: BufferPool,
  onWrite: (bytes: number) => void = () => {},
): Promise<number> {
  let remaining = rangeBytes(pieces);
  const buffers = pool.acquire(remaining);
  let written = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let turn = 0;
  let completed = false;
  try {
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) {
        await inFlight;
        inFlight = settled(writeChunk(out, piece));
        written += piece.length;
        onWrite(piece.length);
        continue;
      }
      for (let position = piece.start; position <= piece.end; ) {
        // This buffer's last write was awaited before the previous read: it is free to refit.
        const buffer = pool.fit(buffers[turn]!, remaining);
        buffers[turn] = buffer;
        turn ^= 1;
        const count = await read(buffer, Math.min(buffer.length, piece.end - position + 1), position);
        if (count === 0) throw new Error('the file became shorter while it was being sent');
        await inFlight;
        inFlight = settled(writeChunk(out, buffer.subarray(0, count)));
        position += count;
        remaining -= count;
        written += count;
        onWrite(count);
      }
    }
    await inFlight;
    completed = true;
    return written;
  } finally {
    await inFlight.catch(() => {});
    // After a failure a cancelled socket write may still reference a buffer: let those go to the collector.
    pool.release(buffers, completed);
  }
}

/**
 * Marks a write's failure as handled at once: the pump awaits it only after
 * its next read, and a rejection left unhandled until then (a client that
 * went away mid-read) would count as an unhandled rejection.
 */
export function settled(promise: Promise<void>): Promise<void> {
  promise.catch(() => {});
  return promise;
}

/** One write, settled by its callback: when the data has been handed to the socket, or when `out` failed. */
export function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.destroyed || out.writableEnded) {
      reject(new Error('the response closed before the body was sent'));
      return;
    }
    const onClose = () => reject(new Error('the response closed before the body was sent'));
    out.once('close', onClose);
    out.write(chunk, (error) => {
      out.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}
