// The "os" driver: a layer on a local folder, opened descriptor-first so no check can be raced.

import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { DeliveryConfig, OsLayerConfig } from '../config/schema.js';
import { FilegateError, fail } from '../errors.js';
import { checkIsFile, checkIsFolder, type EntryKind, type FilePolicy } from '../files/file-policy.js';
import { checkHidden, checkNoDotSegments, checkResolvedPath, type ResolvedPolicy } from '../paths/confinement.js';
import { quotePath, type LayerPath } from '../paths/layer-path.js';
import { pumpPieces, type BufferPool, type PositionalRead } from './descriptor-pump.js';
import { DescriptorStream } from './descriptor-stream.js';
import { inlineIo, threadPoolIo, type FileIo } from './file-io.js';
import { EventLoopPacer, sortInTurns } from '../event-loop-pacer.js';
import type { BodyPiece, FileStat, Layer, OpenFile, OpenWants } from './layer.js';
import type { FolderEntry, FolderNames, OpenFolder } from './layer.js';
import { isHiddenPath } from '../paths/layer-path.js';
import type { HiddenMode } from '../paths/confinement.js';

// Read-only, no-follow (a final symlink is refused by the kernel and then
// resolved deliberately), non-blocking (opening a FIFO with no writer
// returns at once instead of holding a thread-pool worker forever).
const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;
const OPEN_NO_FOLLOW = O_RDONLY | O_NONBLOCK | O_NOFOLLOW;
const OPEN_FOLLOW = O_RDONLY | O_NONBLOCK;

// On Linux the kernel names an open descriptor's real path in /proc; elsewhere
// the path is resolved again (a smaller window, but still after the open).
const HAS_PROC_FD = fs.existsSync('/proc/self/fd');

// Folder entries read per system call and handed over at once: few calls and
// few hand-offs for a big folder, little memory whatever its size.
const FOLDER_BATCH = 1024;

/** The kind of an entry from its stat. */
export function kindOf(stat: fs.Stats): EntryKind {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  if (stat.isBlockDevice() || stat.isCharacterDevice()) return 'device';
  return 'other';
}

export class OsLayer implements Layer {
  readonly name: string;
  readonly policy: FilePolicy;
  private readonly root: string;
  private readonly pathPolicy: ResolvedPolicy;
  private readonly readSize: number;
  private readonly pool: BufferPool;
  private readonly io: FileIo;
  /** The root's real path, computed once; null until the root can be reached. */
  private rootReal: string | null = null;
  /** An open is a few system calls: archives open each file when its turn comes. */
  readonly openAhead = 0;
  readonly delivery: DeliveryConfig;

  constructor(name: string, config: OsLayerConfig, options: { readSize: number; pool: BufferPool }) {
    this.name = name;
    this.root = config.root;
    this.pathPolicy = { hidden: config.hidden, symlinks: config.symlinks };
    this.readSize = options.readSize;
    this.pool = options.pool;
    this.io = config.io === 'threads' ? threadPoolIo : inlineIo;
    this.delivery = config.delivery;
    this.policy = {
      owner: `layer "${name}"`,
      maxFileSize: config.maxFileSize,
      allowEmpty: config.allowEmpty,
      types: config.types,
      extensions: config.extensions,
    };
  }

  /** Resolves the root's real path; a root missing at start-up is retried on each request until it appears. */
  async init(): Promise<void> {
    try {
      this.rootReal = await fs.promises.realpath(this.root);
    } catch {
      this.rootReal = null;
    }
  }

  async isReachable(): Promise<boolean> {
    try {
      const stat = await fs.promises.stat(this.rootReal ?? this.root);
      return stat.isDirectory();
    } catch {
      return false;
    }
  }

  close(): void {
    // Nothing is held between requests.
  }

  async open(target: LayerPath, wants: OpenWants = 'file'): Promise<OpenFile> {
    const file = await this.openAs(target, wants);
    // To a download a folder is NOT_A_FILE whatever its mode, so only a caller that may take a folder asks.
    if (wants === 'file' || file.stat.kind !== 'directory') return file;
    try {
      await this.checkEnterable(file, target);
      return file;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Opens `target` with every check; `wants` says what the caller needs, so
   * an entry that cannot be opened is explained in the SPEC's order for it:
   * a closed folder is NOT_A_FILE to a download, NOT_READABLE to a listing
   * or an archive.
   */
  private async openAs(target: LayerPath, wants: OpenWants): Promise<OsOpenFile> {
    const rootReal = await this.requireRoot();
    checkNoDotSegments(target);
    checkHidden(target.segments, this.pathPolicy.hidden, target.text);
    const lexical = path.join(rootReal, ...target.segments);
    const fd = await this.openDescriptor(lexical, target, wants);
    try {
      // The name first, then fstat: a " (deleted)" seen in the name is then
      // always matched by nlink 0 (see withoutDeletedSuffix).
      const named = HAS_PROC_FD ? await this.io.readlink(`/proc/self/fd/${fd}`) : await fs.promises.realpath(lexical);
      const stat = await this.io.fstat(fd);
      const realPath = withoutDeletedSuffix(named, stat);
      const realSegments = checkResolvedPath(rootReal, realPath, target, this.pathPolicy);
      return new OsOpenFile(fd, target, realSegments, toFileStat(stat), this.io, { readSize: this.readSize, pool: this.pool });
    } catch (error) {
      this.io.close(fd);
      // A symlink followed on the way may make the real path longer than the kernel can name.
      if (errnoOf(error) === 'ENAMETOOLONG') this.failTooLong(target);
      throw error;
    }
  }

  async listNames(target: LayerPath): Promise<FolderNames> {
    const folder = await this.openAs(target, 'folder');
    try {
      checkIsFolder(folder.stat.kind, target.text);
      // Listed through the checked descriptor (by path where the kernel names
      // none); each name is opened and checked again anyway. Only names are
      // read, so a folder that cannot be entered still lists: opening its
      // entries then answers NOT_READABLE one by one.
      // Read in batches and sorted in steps, with a turn of the event loop
      // whenever TURN_BUDGET_MS has run (EventLoopPacer): readdir made
      // every name of a big folder a string in one stretch on the event loop
      // (about 150 ms for 100,000 names), and their sort() was one more
      // (about 40 ms).
      const realPath = path.join(this.rootReal!, ...folder.realSegments);
      const dir = await fs.promises.opendir(folder.pathThroughDescriptor(realPath), { encoding: 'latin1', bufferSize: FOLDER_BATCH }).catch((error: unknown) => {
        if (isOutOfDescriptors(error)) failOutOfDescriptors(error);
        throw error;
      });
      const pacer = new EventLoopPacer();
      const names: string[] = [];
      let unreadable = 0;
      try {
        for (let done = false; !done; ) {
          for (let read = 0; read < FOLDER_BATCH; read += 1) {
            const entry = this.io === inlineIo ? dir.readSync() : await dir.read();
            if (entry === null) {
              done = true;
              break;
            }
            const name = toUtf8Name(entry.name);
            if (name === null) unreadable += 1;
            else names.push(name);
          }
          if (!done) await pacer.step();
        }
      } finally {
        await dir.close().catch(() => {});
      }
      return { names: await sortInTurns(names, pacer), unreadable };
    } finally {
      folder.close();
    }
  }

  async openFolder(target: LayerPath): Promise<OpenFolder> {
    const folder = await this.openAs(target, 'folder');
    try {
      checkIsFolder(folder.stat.kind, target.text);
      // Every entry is statted by path inside the folder: it must be enterable, not only readable.
      await this.checkEnterable(folder, target);
      const realPath = path.join(this.rootReal!, ...folder.realSegments);
      // Names are read through the checked descriptor itself (/proc/self/fd/N on
      // Linux), so a folder swapped in since the open cannot be listed in its
      // place; as latin1, one character per byte, so no byte is lost before
      // the UTF-8 check.
      const dir = await fs.promises.opendir(folder.pathThroughDescriptor(realPath), { encoding: 'latin1', bufferSize: FOLDER_BATCH }).catch((error: unknown) => {
        if (isOutOfDescriptors(error)) failOutOfDescriptors(error);
        throw error;
      });
      return new OsOpenFolder(folder, dir, realPath, this.pathPolicy.hidden, this.io === inlineIo);
    } catch (error) {
      folder.close();
      throw error;
    }
  }

  /**
   * Raises NOT_READABLE when the opened folder may be read but not entered
   * (no search permission for the service: "r" without "x"), which would
   * leave every entry unreachable. The kernel itself is asked, by looking up
   * "." inside the folder through its descriptor: that lookup needs exactly
   * the permission every entry's stat and open need, so the answer holds for
   * ACLs, capabilities, supplementary groups and file systems with their own
   * rules (the mode bits weighed against the process's ids would not), and
   * for an empty folder as well.
   */
  private async checkEnterable(folder: OsOpenFile, target: LayerPath): Promise<void> {
    const realPath = path.join(this.rootReal!, ...folder.realSegments);
    try {
      await fs.promises.stat(`${folder.pathThroughDescriptor(realPath)}/.`);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EACCES' || code === 'EPERM') failUnenterable(target);
      throw new FilegateError('INTERNAL', 'the folder could not be entered', { cause: error });
    }
  }

  /**
   * Raises NOT_FOUND for a path the kernel refuses as too long (ENAMETOOLONG):
   * valid by the SPEC's limits, but joined to the layer's root it passes the
   * system's PATH_MAX, so nothing can be reached there by path; nginx answers
   * the same 404 (ngx_http_static_module maps NGX_ENAMETOOLONG to NOT_FOUND).
   */
  private failTooLong(target: LayerPath): never {
    fail('NOT_FOUND', `${quotePath(target.text)} is too long for layer "${this.name}" to reach on its file system (joined to the layer's root, the path passes the system's limit)`);
  }

  private async requireRoot(): Promise<string> {
    if (this.rootReal === null) await this.init();
    if (this.rootReal === null) fail('FSTYPE_UNAVAILABLE', `layer "${this.name}" is not reachable right now; try again later`);
    return this.rootReal;
  }

  /** Opens without following a final symlink, then follows one deliberately where the layer allows it. */
  private async openDescriptor(lexical: string, target: LayerPath, wants: OpenWants): Promise<number> {
    try {
      return await this.io.open(lexical, OPEN_NO_FOLLOW);
    } catch (error) {
      if (errnoOf(error) !== 'ELOOP') return this.explainOpenFailure(error, lexical, target, wants);
    }
    if (this.pathPolicy.symlinks === 'deny') fail('PATH_NOT_ALLOWED', `${quotePath(target.text)} is a symlink, and this layer follows no symlinks`);
    try {
      return await this.io.open(lexical, OPEN_FOLLOW);
    } catch (error) {
      return this.explainOpenFailure(error, lexical, target, wants);
    }
  }

  /** Turns a failed open into the SPEC's error for it. */
  private async explainOpenFailure(error: unknown, lexical: string, target: LayerPath, wants: OpenWants): Promise<never> {
    const shown = quotePath(target.text);
    switch (errnoOf(error)) {
      case 'ENOENT':
      case 'ENOTDIR':
        if (!(await this.isReachable())) {
          this.rootReal = null;
          fail('FSTYPE_UNAVAILABLE', `layer "${this.name}" is not reachable right now; try again later`);
        }
        fail('NOT_FOUND', `${shown} does not exist in layer "${this.name}"`);
      case 'ELOOP':
        // Only a cycle gives ELOOP when following is asked for: nothing to serve.
        fail('NOT_FOUND', `${shown} is a symlink that never reaches a file (a cycle)`);
      case 'EACCES':
      case 'EPERM':
        return this.explainUnopenable(lexical, target, 'NOT_READABLE', wants);
      case 'ENXIO':
      case 'EOPNOTSUPP':
        // A socket (or a device without a driver) cannot be opened at all.
        return this.explainUnopenable(lexical, target, 'NOT_A_FILE', wants);
      case 'ENAMETOOLONG':
        this.failTooLong(target);
      case 'EMFILE':
      case 'ENFILE':
        failOutOfDescriptors(error);
      default:
        throw new FilegateError('INTERNAL', 'the file could not be opened', { cause: error });
    }
  }

  /**
   * The entry exists but could not be opened: keep the SPEC's order by
   * checking, on its path, confinement and kind (what the caller wants: a
   * file, a folder, or either) before answering NOT_READABLE (or NOT_A_FILE
   * for what cannot be opened at all, such as a socket).
   */
  private async explainUnopenable(lexical: string, target: LayerPath, code: 'NOT_READABLE' | 'NOT_A_FILE', wants: OpenWants): Promise<never> {
    let stat: fs.Stats;
    let realPath: string;
    try {
      [stat, realPath] = await Promise.all([fs.promises.stat(lexical), fs.promises.realpath(lexical)]);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') fail('NOT_FOUND', `${quotePath(target.text)} does not exist in layer "${this.name}"`);
      fail('NOT_READABLE', `${quotePath(target.text)} cannot be read by the service (a folder on its way is closed to it)`);
    }
    checkResolvedPath(this.rootReal!, realPath, target, this.pathPolicy);
    const kind = kindOf(stat);
    if (wants === 'folder') checkIsFolder(kind, target.text);
    else if (wants === 'file' || kind !== 'directory') checkIsFile(kind, target.text);
    fail(code, code === 'NOT_A_FILE' ? `${quotePath(target.text)} is not a regular file` : `${quotePath(target.text)} exists but the service is not allowed to read it`);
  }
}

class OsOpenFile implements OpenFile {
  private closed = false;

  constructor(
    private readonly fd: number,
    readonly path: LayerPath,
    readonly realSegments: readonly string[],
    readonly stat: FileStat,
    private readonly io: FileIo,
    private readonly transfer: { readSize: number; pool: BufferPool },
  ) {}

  createReadStream(pieces: readonly BodyPiece[]) {
    return new DescriptorStream(this.fd, pieces, this.transfer.readSize);
  }

  writeTo(pieces: readonly BodyPiece[], out: Writable, onWrite?: (bytes: number) => void): Promise<number> {
    // Large bodies are read on the thread pool whatever the layer's io: a cold
    // read of a big file must not stall the event loop.
    const read: PositionalRead = (buffer, length, position) => threadPoolIo.read(this.fd, buffer, 0, length, position);
    return pumpPieces(pieces, read, out, this.transfer.pool, onWrite);
  }

  async read(pieces: readonly BodyPiece[]): Promise<Buffer> {
    const buffers: Buffer[] = [];
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) {
        buffers.push(piece);
        continue;
      }
      const length = piece.end - piece.start + 1;
      const buffer = Buffer.allocUnsafe(length);
      let offset = 0;
      while (offset < length) {
        const count = await this.io.read(this.fd, buffer, offset, length - offset, piece.start + offset);
        if (count === 0) throw new Error('the file became shorter while it was being read');
        offset += count;
      }
      buffers.push(buffer);
    }
    return buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close(this.fd);
  }

  /** A path that reaches this very descriptor's file (Linux: /proc/self/fd/N), or `fallback` where the kernel names none. */
  pathThroughDescriptor(fallback: string): string {
    return HAS_PROC_FD ? `/proc/self/fd/${this.fd}` : fallback;
  }
}


class OsOpenFolder implements OpenFolder {
  private closed = false;

  constructor(
    private readonly folder: OsOpenFile,
    private readonly dir: fs.Dir,
    /** The folder's real path, where entries are statted: Node has no fstatat. */
    private readonly realPath: string,
    private readonly hidden: HiddenMode,
    private readonly inline: boolean,
  ) {}

  get path(): LayerPath {
    return this.folder.path;
  }

  get realSegments(): readonly string[] {
    return this.folder.realSegments;
  }

  get stat(): FileStat {
    return this.folder.stat;
  }

  async *entries(): AsyncGenerator<readonly FolderEntry[]> {
    let done = false;
    while (!done) {
      const batch: FolderEntry[] = [];
      for (let read = 0; read < FOLDER_BATCH; read += 1) {
        // Inline, an entry comes from Node's buffer, or one getdents call refills it;
        // on the thread pool, each entry is a promise.
        const entry = this.inline ? this.dir.readSync() : await this.dir.read();
        if (entry === null) {
          done = true;
          break;
        }
        const name = toUtf8Name(entry.name);
        // What open would refuse by the name alone: NOT_FOUND under "ignore", PATH_NOT_ALLOWED under "deny".
        if (name === null || (this.hidden !== 'allow' && isHiddenPath([name]))) continue;
        batch.push({ name, kind: kindOfEntry(entry) });
      }
      if (batch.length > 0) yield batch;
      // Read inline, a big folder must still let other requests run between batches.
      if (this.inline && !done) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async statEntry(name: string): Promise<FileStat | null> {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) return null;
    // One plain segment, so joined as text: path.join's normalising costs more than the stat on a big folder.
    const at = `${this.realPath}/${name}`;
    try {
      const stat = this.inline ? fs.lstatSync(at, { throwIfNoEntry: false }) : await fs.promises.lstat(at);
      return stat === undefined ? null : toFileStat(stat);
    } catch (error) {
      if (isOutOfDescriptors(error)) failOutOfDescriptors(error);
      // An lstat needs no permission on the entry itself, only to enter the folder (and those above it).
      const code = errnoOf(error);
      if (code === 'EACCES' || code === 'EPERM') failUnenterable(this.path);
      return null;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Queued behind a read still in flight; a folder read to its end may be closed already.
    this.dir.close().catch(() => {});
    this.folder.close();
  }
}

// Names are read as latin1, one character per byte: an ASCII name is then already the name.
const NON_ASCII = /[^\x00-\x7f]/;

/** A folder entry's name from its bytes (as latin1), or null when they are not valid UTF-8: such a name cannot be addressed. */
function toUtf8Name(bytes: string): string | null {
  if (!NON_ASCII.test(bytes)) return bytes;
  try {
    return UTF8.decode(Buffer.from(bytes, 'latin1'));
  } catch {
    return null;
  }
}

/** The kind of a folder entry as the folder records it (Node stats the entry where the file system records none). */
function kindOfEntry(entry: fs.Dirent): EntryKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device';
  return 'other';
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const DELETED_SUFFIX = ' (deleted)';

/**
 * Linux appends " (deleted)" to a descriptor's name in /proc once the file
 * has been unlinked or renamed over since the open. The descriptor still
 * holds the file it was opened on, at that place inside the root, so the
 * suffix is dropped when fstat (taken after the name) shows no links left.
 */
function withoutDeletedSuffix(named: string, stat: fs.Stats): string {
  return stat.nlink === 0 && named.endsWith(DELETED_SUFFIX) ? named.slice(0, -DELETED_SUFFIX.length) : named;
}

function toFileStat(stat: fs.Stats): FileStat {
  return { kind: kindOf(stat), size: stat.size, mtimeMs: stat.mtimeMs, identity: `${stat.dev}:${stat.ino}` };
}

/** Raises NOT_READABLE for a folder whose entries the service cannot reach: it may not enter the folder. */
function failUnenterable(target: LayerPath): never {
  fail('NOT_READABLE', `${quotePath(target.text)} is a folder the service may read but not enter, so its entries cannot be reached`);
}

/** True when the process (EMFILE) or the whole system (ENFILE) is out of file descriptors. */
function isOutOfDescriptors(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Raises UNAVAILABLE (503, `Retry-After: 1`) for a lack of descriptors: a
 * passing state that transfers ending will clear, so the client may retry.
 */
function failOutOfDescriptors(cause: unknown): never {
  fail('UNAVAILABLE', 'the service is out of file descriptors right now; retry in a second', { headers: { 'Retry-After': '1' }, cause });
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}
