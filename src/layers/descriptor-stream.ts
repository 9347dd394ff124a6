// A readable stream of a byte range of an open descriptor that never closes the descriptor itself.

import fs from 'node:fs';
import { Readable } from 'node:stream';

/**
 * Reads bytes `start`..`end` (inclusive) of `fd` with positioned reads.
 * Unlike fs.ReadStream, destroying it leaves the descriptor open (so several
 * ranges can be read from one descriptor), and its 'close' event waits for a
 * read still in flight, so the owner may close the descriptor on 'close'
 * without a pending read ever touching a reused descriptor number. A file
 * that shrinks under the stream ends it with an error rather than short.
 */
export class DescriptorStream extends Readable {
  private position: number;
  private readonly end: number;
  private readonly chunkSize: number;
  private reading = false;
  private onReadDone: (() => void) | null = null;

  constructor(
    private readonly fd: number,
    start: number,
    end: number,
    chunkSize: number,
  ) {
    super({ highWaterMark: chunkSize });
    this.position = start;
    this.end = end;
    this.chunkSize = chunkSize;
  }

  override _read(): void {
    const remaining = this.end - this.position + 1;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const length = Math.min(remaining, this.chunkSize);
    this.reading = true;
    fs.read(this.fd, Buffer.allocUnsafe(length), 0, length, this.position, (error, bytesRead, buffer) => {
      this.reading = false;
      const done = this.onReadDone;
      this.onReadDone = null;
      if (done) {
        done();
        return;
      }
      if (error) {
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
