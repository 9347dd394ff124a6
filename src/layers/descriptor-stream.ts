// A readable stream of byte ranges of an open descriptor (and literal pieces between them) that never closes the descriptor.

import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { BodyPiece } from './layer.js';

/**
 * Streams `pieces` in order: a Buffer is pushed as it is, a range is read
 * from `fd` with positioned reads of at most `chunkSize` bytes, one read at a
 * time, as the consumer asks for more. Unlike fs.ReadStream, destroying it
 * leaves the descriptor open (so one descriptor serves every part of a
 * multipart body), and its 'close' event waits for a read still in flight,
 * so the owner may close the descriptor on 'close' without a pending read
 * ever touching a reused descriptor number. A file that shrinks under the
 * stream ends it with an error rather than short.
 */
export class DescriptorStream extends Readable {
  private index = 0;
  /** The next file offset to read in the current range piece. */
  private position = -1;
  private reading = false;
  private onReadDone: (() => void) | null = null;

  constructor(
    private readonly fd: number,
    private readonly pieces: readonly BodyPiece[],
    private readonly chunkSize: number,
  ) {
    super({ highWaterMark: chunkSize });
  }

  override _read(): void {
    // A literal piece pushed in the same call lets Readable ask again before
    // the read in flight has answered; that read's push will ask for more.
    if (this.reading) return;
    while (this.index < this.pieces.length) {
      const piece = this.pieces[this.index]!;
      if (Buffer.isBuffer(piece)) {
        this.index += 1;
        if (!this.push(piece)) return;
        continue;
      }
      if (this.position < 0) this.position = piece.start;
      const remaining = piece.end - this.position + 1;
      if (remaining <= 0) {
        this.index += 1;
        this.position = -1;
        continue;
      }
      this.readChunk(Math.min(remaining, this.chunkSize));
      return;
    }
    this.push(null);
  }

  private readChunk(length: number): void {
    this.reading = true;
    fs.read(this.fd, Buffer.allocUnsafe(length), 0, length, this.position, (error, bytesRead, buffer) => {
      this.reading = false;
      const done = this.onReadDone;
      this.onReadDone = null;
      if (done) {
        done();
      } else if (error) {
        this.destroy(error);
      } else if (bytesRead === 0) {
        this.destroy(new Error('the file became shorter while it was being sent'));
      } else {
        this.position += bytesRead;
        this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
      }
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.reading) this.onReadDone = () => callback(error);
    else callback(error);
  }
}
