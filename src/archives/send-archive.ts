// Streams an archive of a walked selection as it is built: one open file at a time, never the whole in memory or on disk.

import { pipeline, type Readable, type Writable } from 'node:stream';
import type { Context } from 'koa';
import { TarArchive } from 'archiver';
import type { Principal } from '../auth/principal.js';
import { isFilegateError } from '../errors.js';
import { metricsOf } from '../http/metrics.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import type { Layer } from '../layers/layer.js';
import type { Logger } from '../logger.js';
import { toContentDisposition } from '../transfer/content-disposition.js';
import { SMALL_BODY_BYTES, type TransferRecord } from '../transfer/send-transfer.js';
import type { ArchiveEntry, ArchiveSelection } from './archive-walk.js';
import { ZipWriter } from './zip-writer.js';

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

/** What the entry loop asks of an archive format; each call resolves once its entry is handed on. */
interface ArchiveWriter {
  readonly output: Readable;
  addDirectory(name: string, mtime: Date): Promise<void>;
  addBuffer(name: string, data: Buffer, mtime: Date): Promise<void>;
  /** Rejects with the source's error (a file that shrank). */
  addStream(name: string, source: Readable, size: number, mtime: Date): Promise<void>;
  finish(): Promise<void>;
}

/** A gzipped tar through archiver, one entry at a time. */
class TarWriter implements ArchiveWriter {
  readonly output: TarArchive;

  constructor(gzipLevel: number) {
    this.output = new TarArchive({ gzip: true, gzipOptions: { level: gzipLevel } });
  }

  addDirectory(name: string, date: Date): Promise<void> {
    return this.append(Buffer.alloc(0), { name, type: 'directory', date, mode: 0o755 });
  }

  addBuffer(name: string, data: Buffer, date: Date): Promise<void> {
    return this.append(data, { name, date, mode: 0o644 });
  }

  addStream(name: string, source: Readable, _size: number, date: Date): Promise<void> {
    // archiver reads through a PassThrough of its own and never hears of the
    // source's errors: a read that fails must fail the entry, and not go unhandled.
    const failed = new Promise<never>((_resolve, reject) => source.once('error', reject));
    return Promise.race([this.append(source, { name, date, mode: 0o644 }), failed]);
  }

  async finish(): Promise<void> {
    await this.output.finalize();
  }

  private append(source: Buffer | Readable, data: { name: string; date: Date; mode: number; type?: 'directory' }): Promise<void> {
    const written = new Promise<void>((resolve) => this.output.once('entry', () => resolve()));
    this.output.append(source, data);
    return written;
  }
}

function createArchiveWriter(options: ArchiveOptions): ArchiveWriter {
  return options.format === 'zip' ? new ZipWriter({ deflate: options.zipCompression === 'deflate', level: 6 }) : new TarWriter(options.gzipLevel);
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
  const writer = createArchiveWriter(options);
  let bytes = 0;
  writer.output.on('data', (chunk: Buffer) => {
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
  const piped = new Promise<Error | null>((resolve) => {
    // Called as soon as `out` closes early too (a client that left): the loop stops at its next step.
    pipeline(writer.output, out, (error) => {
      halt();
      resolve(error ?? null);
    });
  });

  let written = 0;
  let leftOut = 0;
  try {
    for (const entry of selection.entries) {
      if (stopped) break;
      // Counted as they go: an archive cut short has not written the entries it never reached.
      if (await appendEntry(writer, layer, principal, entry, stop)) written += 1;
      else leftOut += 1;
    }
    if (!stopped) await untilStopped(writer.finish(), stop);
  } catch (error) {
    // A read that failed mid-entry: cut the output (no more entries, no
    // central directory), so the reader sees a truncated archive.
    writer.output.destroy(error as Error);
    out.destroy(error as Error);
  }
  if (stopped) writer.output.destroy();
  const error = await piped;
  return { entries: written, leftOut, bytes, completed: error === null };
}

/** Waits for `work`, or only until `stop` (the output closed); a failure after the stop has no one left to tell. */
async function untilStopped(work: Promise<void>, stop: Promise<void>): Promise<void> {
  work.catch(() => {});
  await Promise.race([work, stop]);
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
  const skipped = selection.skipped + outcome.leftOut;
  metricsOf(ctx)?.archiveSent(options.format, { written: outcome.entries, skipped, completed: outcome.completed });
  logger.info(
    { reqId: (ctx.state as { requestId?: string }).requestId, entries: outcome.entries, skipped, completed: outcome.completed },
    'archive',
  );
}

/** Appends one entry and waits until it is handed on (or the output closed); false when it was left out. */
async function appendEntry(writer: ArchiveWriter, layer: Layer, principal: Principal, entry: ArchiveEntry, stop: Promise<void>): Promise<boolean> {
  const date = new Date(entry.mtimeMs);
  if (entry.kind === 'directory') {
    await untilStopped(writer.addDirectory(entry.name, date), stop);
    return true;
  }
  let file;
  try {
    // The open and checks of a download: what it would refuse now is left out.
    file = await openAllowedFile(layer, principal, entry.path);
  } catch (error) {
    if (isFilegateError(error)) return false;
    throw error;
  }
  const { size } = file.stat;
  if (size <= SMALL_BODY_BYTES) {
    // A small file is read whole: no stream per entry, which for 10,000
    // small files is most of the garbage an archive would leave.
    let data: Buffer;
    try {
      data = size === 0 ? Buffer.alloc(0) : await file.read([{ start: 0, end: size - 1 }]);
    } finally {
      file.close();
    }
    await untilStopped(writer.addBuffer(entry.name, data, date), stop);
    return true;
  }
  const stream = file.createReadStream([{ start: 0, end: size - 1 }]);
  const opened = file;
  stream.once('close', () => opened.close());
  try {
    await untilStopped(writer.addStream(entry.name, stream, size, date), stop);
  } finally {
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  }
  return true;
}
