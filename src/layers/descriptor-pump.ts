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
 * 30 MB seen on Node 20). Buffers come in power-of-two sizes.
 *
 * The buffers the pool knows of, those transfers hold and those idle in it,
 * never come to more than `budget`, except by 64 KB buffers when nothing is
 * left: every transfer gets two buffers of at least that. A transfer asks
 * for `budget / (2 × transfers running)`, rounded down, between 64 KB and
 * `maxChunk` (a body smaller than that asks for no more than it needs). It
 * gets an idle buffer of that size, or a new one when the budget has room;
 * else a larger idle one; else idle buffers of other sizes are let go to
 * make room, and what room there is decides the size. Before each read it
 * asks again (`fit`) and grows as transfers end. A running transfer never
 * shrinks: a burst of transfers starting at once cannot take more than the
 * budget, so there is nothing to win back from it, and a buffer given up
 * would be garbage that the RSS holds until a collection. At most half the
 * budget stays idle once transfers end.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  /** Bytes of the buffers transfers hold now (writes in flight included). */
  private heldBytes = 0;
  private active = 0;

  constructor(
    /** The read size of a transfer running alone. */
    private readonly maxChunk: number,
    /** The bytes all buffers, held and idle, may come to together. */
    private readonly budget: number,
    private readonly minChunk = 64 * 1024,
  ) {}

  /** Two buffers for a new transfer of `bodyBytes`, sized for the transfers running now and the room left. */
  acquire(bodyBytes: number): [Buffer, Buffer] {
    this.active += 1;
    const size = this.sizeFor(bodyBytes);
    const first = this.take(size);
    return [first, this.take(Math.min(size, first.length))];
  }

  /**
   * `buffer` itself, or a larger buffer in its place when the transfer's
   * share (`remainingBytes` still to read) has grown and the pool can give
   * it; `buffer` then goes back to the pool. Only for a buffer no write
   * still holds.
   */
  fit(buffer: Buffer, remainingBytes: number): Buffer {
    const size = this.sizeFor(remainingBytes);
    if (buffer.length >= size || !this.canGive(size)) return buffer;
    const larger = this.take(size);
    this.giveBack(buffer, true);
    return larger;
  }

  /** Gives a transfer's buffers back; `reusable` false when a write may still hold one (the transfer failed). */
  release(buffers: readonly Buffer[], reusable: boolean): void {
    this.active -= 1;
    for (const buffer of buffers) this.giveBack(buffer, reusable);
  }

  private sizeFor(bodyBytes: number): number {
    const share = Math.floor(this.budget / (2 * Math.max(1, this.active)));
    // Round the share down, so the budget holds; round a small body up, so it fits one read.
    let size = Math.max(this.minChunk, Math.min(this.maxChunk, 2 ** Math.floor(Math.log2(Math.max(1, share)))));
    if (bodyBytes < size) size = Math.max(this.minChunk, Math.min(size, 2 ** Math.ceil(Math.log2(Math.max(1, bodyBytes)))));
    return size;
  }

  private giveBack(buffer: Buffer, reusable: boolean): void {
    this.heldBytes -= buffer.length;
    // Keep at most half the budget idle; the rest goes to the collector.
    if (!reusable || this.freeBytes + buffer.length > this.budget / 2) return;
    const list = this.free.get(buffer.length) ?? [];
    list.push(buffer);
    this.free.set(buffer.length, list);
    this.freeBytes += buffer.length;
  }

  private room(): number {
    return this.budget - this.heldBytes - this.freeBytes;
  }

  /** Whether `take(size)` would give a buffer of `size` or more. */
  private canGive(size: number): boolean {
    let reachable = this.room();
    for (const [length, list] of this.free) {
      if (length >= size && list.length > 0) return true;
      reachable += length * list.length;
    }
    return reachable >= size;
  }

  /**
   * An idle buffer of `size`, or a new one when the budget has room for
   * it; else the smallest larger idle buffer (memory already there); else
   * smaller idle buffers are let go, smallest first, until the room holds
   * `size`, and a new buffer of the largest power of two the room then
   * allows is made, never below minChunk.
   */
  private take(size: number): Buffer {
    let idle = this.free.get(size)?.length ? size : undefined;
    if (idle === undefined && this.room() < size) idle = this.idleLengths().find((length) => length > size);
    if (idle !== undefined) {
      this.freeBytes -= idle;
      this.heldBytes += idle;
      return this.free.get(idle)!.pop()!;
    }
    if (this.room() < size) {
      for (const length of this.idleLengths()) {
        const list = this.free.get(length)!;
        while (this.room() < size && list.length > 0) {
          list.pop();
          this.freeBytes -= length;
        }
      }
    }
    const room = this.room();
    const buffer = Buffer.allocUnsafeSlow(Math.max(this.minChunk, room >= size ? size : room >= 1 ? 2 ** Math.floor(Math.log2(room)) : 0));
    this.heldBytes += buffer.length;
    return buffer;
  }

  /** The lengths of the idle buffers, smallest first. */
  private idleLengths(): number[] {
    return [...this.free.keys()].filter((length) => this.free.get(length)!.length > 0).sort((x, y) => x - y);
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
