// Streams an archive of a walked selection as it is built: one open file at a time, never the whole in memory or on disk.

import { pipeline, Transform, type TransformCallback, type Writable } from 'node:stream';
import type { Context } from 'koa';
import { TarArchive, ZipArchive } from 'archiver';
import { checkPathAllowed, type Principal } from '../auth/principal.js';
import { isFilegateError } from '../errors.js';
import { checkFilePolicy } from '../files/file-policy.js';
import type { Layer } from '../layers/layer.js';
import type { Logger } from '../logger.js';
import { toContentDisposition } from '../transfer/content-disposition.js';
import { SMALL_BODY_BYTES, type TransferRecord } from '../transfer/send-transfer.js';
import type { ArchiveEntry, ArchiveSelection } from './archive-walk.js';

export type ArchiveFormat = 'zip' | 'tar.gz';

export interface ArchiveOptions {
  readonly format: ArchiveFormat;
  /** The file name the client saves, extension included. */
  readonly filename: string;
  /** ZIP entries are stored (most served files are compressed already) unless "deflate". */
  readonly zipCompression: 'store' | 'deflate';
  readonly gzipLevel: number;
}

const CONTENT_TYPES: Record<ArchiveFormat, string> = { zip: 'application/zip', 'tar.gz': 'application/gzip' };

// archiver emits a ZIP's headers and central directory in pieces of a few
// dozen bytes: about 100,000 of them for 10,000 entries, each a separate
// write holding memory until it is flushed (80 MB measured). Gathered into
// 64 KB writes, they cost no more than file data.
const COALESCE_BYTES = 64 * 1024;

/** Gathers small chunks into writes of about `size` bytes; large chunks pass as they are. */
class Coalesce extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length >= this.size && this.pendingBytes === 0) {
      callback(null, chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.size) this.push(this.drain());
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.pendingBytes > 0 ? this.drain() : undefined);
  }

  private drain(): Buffer {
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return joined;
  }
}

/** What became of an archive once written. */
export interface ArchiveOutcome {
  /** Entries written. */
  readonly entries: number;
  /** Entries left out when their turn came (vanished or refused since the walk). */
  readonly leftOut: number;
  readonly bytes: number;
  /** False when the destination closed first or a read failed: the output is truncated. */
  readonly completed: boolean;
}

/**
 * Writes the archive of a walked selection to `out`, each entry in walk
 * order. A file is opened only when its turn comes, through the same layer
 * open, paths check and file policy as a download; one that vanished or
 * became refused since the walk is left out. A file that fails while it is
 * being read (it shrank) fails the whole output, so the reader sees a
 * truncated archive, never a valid-looking wrong one. When `out` closes
 * early (a client that went away) the loop stops and the open file is
 * released. Resolves once `out` has everything or has failed.
 */
export async function writeArchive(
  out: Writable,
  layer: Layer,
  principal: Principal,
  selection: ArchiveSelection,
  options: ArchiveOptions,
  onData: (bytes: number) => void = () => {},
): Promise<ArchiveOutcome> {
  const archive =
    options.format === 'zip'
      ? new ZipArchive({ store: options.zipCompression === 'store', zlib: { level: 6 } })
      : new TarArchive({ gzip: true, gzipOptions: { level: options.gzipLevel } });
  let bytes = 0;
  archive.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    onData(chunk.length);
  });
  let stopped = false;
  let signalStop = () => {};
  const stop = new Promise<void>((resolve) => {
    signalStop = resolve;
  });
  const halt = () => {
    stopped = true;
    signalStop();
  };
  out.once('close', halt);
  const piped = new Promise<Error | null>((resolve) => {
    // gzip already writes in 16 KB chunks; a ZIP's headers come in crumbs.
    const streams = options.format === 'zip' ? [archive, new Coalesce(COALESCE_BYTES), out] : [archive, out];
    pipeline(streams, (error) => {
      halt();
      resolve(error ?? null);
    });
  });

  let leftOut = 0;
  for (const entry of selection.entries) {
    if (stopped) break;
    const cut = (error: Error) => {
      archive.destroy(error);
      out.destroy(error);
    };
    if (!(await appendEntry(archive, layer, principal, entry, stop, cut))) leftOut += 1;
  }
  if (stopped) archive.abort();
  else await archive.finalize();
  const error = await piped;
  return { entries: selection.entries.length - leftOut, leftOut, bytes, completed: error === null };
}

/** Sends the archive as the response: headers at once (the walk is done), then the stream. */
export async function sendArchive(ctx: Context, layer: Layer, principal: Principal, selection: ArchiveSelection, options: ArchiveOptions, logger: Logger): Promise<void> {
  const { res } = ctx;
  ctx.status = 200;
  ctx.set({
    'Content-Type': CONTENT_TYPES[options.format],
    'Content-Disposition': toContentDisposition('attachment', options.filename),
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'X-Content-Type-Options': 'nosniff',
    // A streamed archive has no length and no stable bytes to resume from.
    'Accept-Ranges': 'none',
    'Cache-Control': 'no-store',
    'X-Archive-Entries': String(selection.entries.length),
    'X-Archive-Skipped': String(selection.skipped),
  });
  ctx.respond = false;
  // HEAD gets what GET would say before its first byte: the walk's verdict, not the archive.
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  let bytes = 0;
  (ctx.state as { transfer?: TransferRecord }).transfer = { bytesRead: () => bytes };
  const outcome = await writeArchive(res, layer, principal, selection, options, (count) => {
    bytes += count;
  });
  if (!outcome.completed && !res.destroyed) res.destroy();
  logger.info(
    { reqId: (ctx.state as { requestId?: string }).requestId, entries: outcome.entries, skipped: selection.skipped + outcome.leftOut, completed: outcome.completed },
    'archive',
  );
}

/** Appends one entry and waits until archiver has written it (or the client left); false when it was left out. */
async function appendEntry(
  archive: ZipArchive | TarArchive,
  layer: Layer,
  principal: Principal,
  entry: ArchiveEntry,
  stop: Promise<void>,
  cut: (error: Error) => void,
): Promise<boolean> {
  const date = new Date(entry.mtimeMs);
  const written = new Promise<void>((resolve) => archive.once('entry', () => resolve()));
  if (entry.kind === 'directory') {
    archive.append(Buffer.alloc(0), { name: entry.name, type: 'directory', date, mode: 0o755 });
    await Promise.race([written, stop]);
    return true;
  }
  let file;
  try {
    file = await layer.open(entry.path);
    checkPathAllowed(principal, file.realSegments, entry.path.text);
    checkFilePolicy(file.stat, [entry.path.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''], layer.policy, entry.path.text);
  } catch (error) {
    file?.close();
    if (isFilegateError(error)) return false;
    throw error;
  }
  const { size } = file.stat;
  if (size <= SMALL_BODY_BYTES) {
    // A small file is read whole: no stream and no PassThrough per entry, which
    // for 10,000 small files is most of the garbage an archive leaves.
    let data: Buffer;
    try {
      data = size === 0 ? Buffer.alloc(0) : await file.read([{ start: 0, end: size - 1 }]);
    } catch (error) {
      cut(error as Error);
      return true;
    } finally {
      file.close();
    }
    archive.append(data, { name: entry.name, date, mode: 0o644 });
    await Promise.race([written, stop]);
    return true;
  }
  const stream = file.createReadStream(size === 0 ? [] : [{ start: 0, end: size - 1 }]);
  const opened = file;
  stream.once('close', () => opened.close());
  // archiver reads through a PassThrough of its own and never hears of this
  // stream's errors: a read that fails (the file shrank) must cut the output
  // at once (no final chunk, no central directory), and must not go unhandled.
  stream.once('error', cut);
  archive.append(stream, { name: entry.name, date, mode: 0o644 });
  await Promise.race([written, stop]);
  if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  return true;
}
