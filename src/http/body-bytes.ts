// Counts the body bytes a response is handed, however it is written: Koa's end(body), a piped stream, a pump's writes, an archive.

import type { ServerResponse } from 'node:http';

/**
 * Starts counting the body bytes written to `res` through `write` and `end`,
 * and returns a function that reads the count. Every body goes through one
 * of the two, whoever writes it, so a streamed archive or any other body
 * without a Content-Length is counted like the rest. A write refused because
 * the response already ended or was destroyed is not counted. The count is
 * what was handed to the response; for HEAD, 204 and 304 Node sends none of
 * it, which the caller accounts for.
 */
export function countBodyBytes(res: ServerResponse): () => number {
  let bytes = 0;
  const { write, end } = res;
  // Arguments are passed on as they came: write(chunk, encoding?, callback?) and end(chunk?, encoding?, callback?).
  res.write = function countedWrite(this: ServerResponse, chunk: unknown, encoding?: unknown) {
    if (!this.writableEnded && !this.destroyed) bytes += byteLengthOf(chunk, encoding);
    return write.apply(this, arguments as unknown as Parameters<typeof write>);
  } as typeof write;
  res.end = function countedEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown) {
    if (!this.writableEnded && !this.destroyed) bytes += byteLengthOf(chunk, encoding);
    return end.apply(this, arguments as unknown as Parameters<typeof end>);
  } as typeof end;
  return () => bytes;
}

/** The bytes a chunk puts on the wire: a string in its encoding (UTF-8 by default), a buffer or typed array by its length; a callback in the chunk's place is none. */
function byteLengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}
