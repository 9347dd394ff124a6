// Streams an archive of a walked selection as it is built: one open file at a time, never the whole in memory or on disk.

import type { Stats } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Context } from 'koa';
import { TarArchive } from 'archiver';
import type { Principal } from '../auth/principal.js';
import { isFilegateError } from '../errors.js';
import { metricsOf } from '../http/metrics.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import type { Layer, OpenFile } from '../layers/layer.js';
import type { Logger } from '../logger.js';
import { toContentDisposition } from '../transfer/content-disposition.js';
import { STRICT_POLICY } from '../transfer/content-security-policy.js';
import { SMALL_BODY_BYTES, type TransferRecord } from '../transfer/send-transfer.js';
import type { ArchiveEntry, ArchiveSelection } from './archive-walk.js';
import { EventLoopPacer } from '../event-loop-pacer.js';
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

  addStream(name: string, source: Readable, size: number, date: Date): Promise<void> {
    // archiver reads through a PassThrough of its own and never hears of the
    // source's errors: a read that fails must fail the entry, and not go unhandled.
    const failed = new Promise<never>((_resolve, reject) => source.once('error', reject));
    // archiver's tar plugin streams an entry only when `stats` gives its size
    // (the only field it reads); without it, it collects the whole file in
    // memory first (archiver/lib/plugins/tar.js, collectStream).
    const stats = { size } as Stats;
    return Promise.race([this.append(source, { name, date, mode: 0o644, stats }), failed]);
  }

  async finish(): Promise<void> {
    await this.output.finalize();
  }

  private append(source: Buffer | Readable, data: { name: string; date: Date; mode: number; type?: 'directory'; stats?: Stats }): Promise<void> {
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
  const stop = new OutputStop();
  // Settles as soon as `out` closes, early too (a client that left): the loop stops at its next step.
  const piped = copyToOutput(writer.output, out, (count) => {
    bytes += count;
    onData(count);
  }).then((error) => {
    stop.stop();
    return error;
  });

  let written = 0;
  let leftOut = 0;
  // Small files are opened and read with the layer's inline I/O, and the loop
  // waits only when the client pushes back: against a fast client, 10,000
  // entries of 1 KiB ran with no turn of the event loop for hundreds of ms.
  // A turn every 32 entries, or sooner once TURN_BUDGET_MS has run.
  const pacer = new EventLoopPacer(32);
  const opener = new FileOpener(layer, principal, selection.entries);
  try {
    for (let index = 0; index < selection.entries.length; index += 1) {
      await pacer.step();
      if (stop.stopped) break;
      // Counted as they go: an archive cut short has not written the entries it never reached.
      if (await appendEntry(writer, opener, index, stop)) written += 1;
      else leftOut += 1;
    }
    if (!stop.stopped) await stop.until(writer.finish());
  } catch (error) {
    // A read that failed mid-entry: cut the output (no more entries, no
    // central directory), so the reader sees a truncated archive.
    writer.output.destroy(error as Error);
    out.destroy(error as Error);
  } finally {
    opener.closeAll();
  }
  if (stop.stopped) writer.output.destroy();
  const error = await piped;
  return { entries: written, leftOut, bytes, completed: error === null };
}

/**
 * Copies an archive's output to `out` with back-pressure, and resolves once
 * `out` has closed: null when it took everything, else its error (a
 * premature close when the client left). A source error destroys `out` with
 * it. This is `pipeline` for one source, subscribing to each event of `out`
 * once: `pipeline` subscribes to an http.ServerResponse's 'close' five times
 * (end-of-stream on it twice over, and pipe's own), which on top of the
 * response's own bookkeeping (access line, concurrency slot, walk, drain)
 * passed Node's limit of ten listeners and printed a
 * MaxListenersExceededWarning on stderr for every archive. Errors either side
 * after the close have no one left to tell and are dropped, as `pipeline`
 * drops them.
 */
function copyToOutput(source: Readable, out: Writable, onData: (bytes: number) => void): Promise<Error | null> {
  const ignore = () => {};
  source.on('error', ignore);
  out.on('error', ignore);
  // A destination already gone (the client left before the first byte) will not close again.
  if (out.destroyed) {
    source.destroy();
    return Promise.resolve(prematureClose());
  }
  return new Promise((resolve) => {
    const onChunk = (chunk: Buffer) => {
      onData(chunk.length);
      if (!out.write(chunk)) source.pause();
    };
    const onDrain = () => source.resume();
    const onEnd = () => out.end();
    const onSourceError = (error: Error) => out.destroy(error);
    source.on('data', onChunk);
    source.once('end', onEnd);
    source.once('error', onSourceError);
    out.on('drain', onDrain);
    out.once('close', () => {
      source.off('data', onChunk);
      source.off('end', onEnd);
      source.off('error', onSourceError);
      out.off('drain', onDrain);
      const complete = out.writableFinished;
      if (!complete) source.destroy();
      resolve(complete ? null : (out.errored ?? prematureClose()));
    });
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('the destination closed before the archive was complete'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * The moment the output closed, which the entry loop waits for alongside
 * each step. Each wait unsubscribes once its step is done: racing every step
 * against one promise that lives as long as the archive (Promise.race) kept
 * a reaction per entry on it until the end, about 300 bytes each, 30 MB for
 * an archive of 100,000 entries.
 */
class OutputStop {
  stopped = false;
  private readonly waiting = new Set<() => void>();

  stop(): void {
    this.stopped = true;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** Waits for `work`, or only until the stop; a failure after the stop has no one left to tell. */
  until(work: Promise<void>): Promise<void> {
    work.catch(() => {});
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => resolve();
      this.waiting.add(wake);
      work.then(
        () => {
          this.waiting.delete(wake);
          resolve();
        },
        (error: unknown) => {
          this.waiting.delete(wake);
          reject(error);
        },
      );
    });
  }
}

/** Sends the archive as the response: headers at once (the walk is done), then the stream. */
export async function sendArchive(ctx: Context, layer: Layer, principal: Principal, selection: ArchiveSelection, options: ArchiveOptions, logger: Logger): Promise<void> {
  const { res } = ctx;
  ctx.status = 200;
  ctx.set({
    'Content-Type': CONTENT_TYPES[options.format],
    'Content-Disposition': toContentDisposition('attachment', options.filename),
    'Content-Security-Policy': STRICT_POLICY,
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

/**
 * Opens the selection's files in order, each with the open and checks of a
 * download, and up to `layer.openAhead` files ahead of the one being
 * written: where an open is a round trip (an object store, whose open also
 * fetches a small object's bytes), the next files are on their way while
 * one is written, and memory stays bounded by the look-ahead.
 */
class FileOpener {
  private readonly opening = new Map<number, Promise<OpenFile>>();

  constructor(
    private readonly layer: Layer,
    private readonly principal: Principal,
    private readonly entries: readonly ArchiveEntry[],
  ) {}

  /** The file of entry `index`, opened now or already on its way; the files after it are started. */
  open(index: number): Promise<OpenFile> {
    const opened = this.opening.get(index) ?? this.start(index);
    this.opening.delete(index);
    let started = 0;
    for (let next = index + 1; next < this.entries.length && started < this.layer.openAhead; next += 1) {
      if (this.entries[next]!.kind !== 'file') continue;
      started += 1;
      if (!this.opening.has(next)) this.opening.set(next, this.start(next));
    }
    return opened;
  }

  entryAt(index: number): ArchiveEntry {
    return this.entries[index]!;
  }

  /** Closes the files opened ahead that were never written (the archive stopped early). */
  closeAll(): void {
    for (const opened of this.opening.values()) opened.then((file) => file.close(), () => {});
    this.opening.clear();
  }

  private start(index: number): Promise<OpenFile> {
    const opened = openAllowedFile(this.layer, this.principal, this.entries[index]!.path);
    // Awaited when its turn comes; a failure before then is not unhandled.
    opened.catch(() => {});
    return opened;
  }
}

/** Appends entry `index` and waits until it is handed on (or the output closed); false when it was left out. */
async function appendEntry(writer: ArchiveWriter, opener: FileOpener, index: number, stop: OutputStop): Promise<boolean> {
  const entry = opener.entryAt(index);
  const date = new Date(entry.mtimeMs);
  if (entry.kind === 'directory') {
    await stop.until(writer.addDirectory(entry.name, date));
    return true;
  }
  let file;
  try {
    // The open and checks of a download: what it would refuse now is left out.
    file = await opener.open(index);
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
    await stop.until(writer.addBuffer(entry.name, data, date));
    return true;
  }
  const stream = file.createReadStream([{ start: 0, end: size - 1 }]);
  const opened = file;
  stream.once('close', () => opened.close());
  try {
    await stop.until(writer.addStream(entry.name, stream, size, date));
  } finally {
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  }
  return true;
}
