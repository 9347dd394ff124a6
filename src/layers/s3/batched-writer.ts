// Writes an object body to a response in batches of up to 1 MiB, copied into recycled buffers, so the client wakes once per batch and no engine chunk outlives its read.

import type { Writable } from 'node:stream';
import { BufferPool, settled, writeChunk } from '../descriptor-pump.js';

/** The longest a byte waits in a batch: an engine that sends slowly still reaches the client in a steady stream. */
export const MAX_BATCH_DELAY_MS = 20;

/**
 * The batch buffers of every object body written in this process: two per
 * transfer, 1 MiB each for one or two transfers, less as more run (4 MiB in
 * all, down to 64 KiB each; a transfer that started small grows as others
 * end), recycled between transfers. 2 MiB batches were
 * no faster within the noise (889 against 845 MB/s, medians of 9 downloads)
 * and the first 1 GB download added up to 19 MiB to the RSS, against 12.
 */
export const batchPool = new BufferPool(1024 * 1024, 4 * 1024 * 1024);

/**
 * Copies the chunks of a body into one of two recycled buffers and writes a
 * buffer once it is full, once its oldest byte has waited `maxDelayMs`, or
 * at `finish`; while one is being written the other fills, and a buffer is
 * filled again only once its write has completed, so a slow client holds two
 * buffers, never more (back-pressure).
 *
 * Why batches: measured on a 1 GB object with the engine and curl sharing a
 * core, writing each engine read (about 64 KiB) as it came streamed 615-760
 * MB/s, batches of 1-2 MiB 685-890 (medians of interleaved sessions, the
 * engine read directly 663-895): the client and the engine trade their core
 * less often. Why copies: a chunk held for a
 * batch (or by a write the kernel has not taken yet) can live through two
 * young-generation collections and be promoted, and promoted buffers are
 * freed only by full collections; holding chunks instead of copying them ran
 * 180-280 full collections per three 1 GB downloads in one variant, against 2.
 */
export class BatchedWriter {
  private readonly buffers: [Buffer, Buffer];
  private turn = 0;
  private used = 0;
  /** The last write handed to `out`; the buffer it holds is the one filled next. */
  private inFlight: Promise<void> = Promise.resolve();
  /** The flush running now (the timer's or a full buffer's): chunks are copied only once it is done. */
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private completed = false;
  private closed = false;
  /** Body bytes not yet copied into a batch: what a refitted buffer must hold at most. */
  private remaining: number;

  constructor(
    private readonly out: Writable,
    private readonly pool: BufferPool,
    /** The bytes the body will have: a small body gets buffers no larger than it needs. */
    bodyBytes: number,
    private readonly maxDelayMs: number,
    /** Hears of the bytes of each batch once they are handed to `out`. */
    private readonly onWrite?: (bytes: number) => void,
  ) {
    this.buffers = pool.acquire(bodyBytes);
    this.remaining = bodyBytes;
  }

  /** Copies `chunk` into the batch, writing full buffers; waits while both buffers are taken. Rejects once a write has failed or `out` closed. */
  async add(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      await this.flushing;
      checkWritable(this.out);
      const buffer = this.buffers[this.turn]!;
      const take = Math.min(buffer.length - this.used, chunk.length - offset);
      chunk.copy(buffer, this.used, offset, offset + take);
      this.used += take;
      this.remaining -= take;
      offset += take;
      if (this.used === buffer.length) await this.startFlush();
    }
    if (this.used > 0 && this.timer === null) {
      this.timer = setTimeout(() => void this.startFlush().catch(() => {}), this.maxDelayMs);
    }
  }

  /** Writes what is left and waits for every write to complete; rejects when one failed. */
  async finish(): Promise<void> {
    await this.flushing;
    await this.startFlush();
    await this.inFlight;
    this.completed = true;
  }

  /** Stops the timer and gives the buffers back (to the collector, not the pool, unless `finish` completed: a failed write may still hold one). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    this.pool.release(this.buffers, this.completed);
  }

  private startFlush(): Promise<void> {
    this.flushing = this.flush();
    // Handled here, so a failure met by the timer's flush is not unhandled; the next add or finish meets it.
    this.flushing.catch(() => {});
    return this.flushing;
  }

  private async flush(): Promise<void> {
    this.stopTimer();
    if (this.used === 0 || this.closed) return;
    const buffer = this.buffers[this.turn]!;
    const bytes = this.used;
    this.turn ^= 1;
    this.used = 0;
    // The buffer to fill next is the one the previous write holds: wait for that write.
    await this.inFlight;
    if (this.closed) return;
    // The buffer to fill next is free now: larger, if transfers have ended since it was taken.
    this.buffers[this.turn] = this.pool.fit(this.buffers[this.turn]!, this.remaining);
    this.inFlight = settled(writeChunk(this.out, buffer.subarray(0, bytes)));
    this.onWrite?.(bytes);
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function checkWritable(out: Writable): void {
  if (out.destroyed || out.writableEnded) throw new Error('the response closed before the body was sent');
}

