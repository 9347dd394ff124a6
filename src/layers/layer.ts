// The small interface every storage driver implements; downloads, listings and archives use only this.

import type { Readable, Writable } from 'node:stream';
import type { DeliveryConfig } from '../config/schema.js';
import type { EntryKind, FilePolicy } from '../files/file-policy.js';
import type { LayerPath } from '../paths/layer-path.js';

/** What the storage says about an entry (fstat, or an engine's answer); validators and checks derive from it once. */
export interface FileStat {
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  /**
   * Where the entry lives, so a folder reached twice (through a symlink
   * cycle) is walked once: device and inode on disk, the key on an object
   * store. Never part of a validator.
   */
  readonly identity: string;
  /** The engine's ETag (quoted) where the storage keeps one for the bytes: the entity tag derives from it. */
  readonly etag?: string;
}

/** An inclusive byte range of a file. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A piece of a response body: literal bytes (such as multipart part headers) or a range of the file. */
export type BodyPiece = Buffer | ByteRange;

/** The byte length of a body made of `pieces`. */
export function bodyLength(pieces: readonly BodyPiece[]): number {
  return pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start + 1), 0);
}

/** Response headers a storage is asked to send with the bytes it serves itself (delivery "redirect"): filegate's decision. */
export interface ResponseOverrides {
  readonly contentType: string;
  readonly contentDisposition: string;
  readonly cacheControl: string;
}

/** A URL that serves a file's bytes without filegate, and the moment it stops working. */
export interface SignedLocation {
  readonly url: string;
  readonly expiresAtMs: number;
}

/** A file opened for reading; the caller must `close()` it exactly once, whatever happens. */
export interface OpenFile {
  /** The path as requested. */
  readonly path: LayerPath;
  /** The real path's segments below the layer root (differs from `path` when a symlink was followed). */
  readonly realSegments: readonly string[];
  readonly stat: FileStat;
  /**
   * A stream of `pieces` in order, the ranges read from the open descriptor
   * with back-pressure. Destroying the stream does not close the file, and
   * the stream emits 'close' only once no read is in flight.
   */
  createReadStream(pieces: readonly BodyPiece[]): Readable;
  /**
   * Writes `pieces` to `out` in order, with back-pressure and recycled
   * buffers, telling `onWrite` of each chunk; resolves with the bytes written, rejects when reading fails or
   * `out` closes first. No read is in flight once it settles.
   */
  writeTo(pieces: readonly BodyPiece[], out: Writable, onWrite?: (bytes: number) => void): Promise<number>;
  /** Reads `pieces` whole into one buffer: for small bodies only, the caller bounds the size. */
  read(pieces: readonly BodyPiece[]): Promise<Buffer>;
  /**
   * A short-lived URL from which the storage itself serves this file's bytes
   * with `overrides` as headers, valid at least half `ttlMs` after `nowMs`
   * (delivery "redirect"). Absent where the storage has no such URLs (a
   * local folder). Computed, not fetched: nothing is asked of the storage.
   */
  signedLocation?(overrides: ResponseOverrides, ttlMs: number, nowMs: number): SignedLocation;
  /** Releases the descriptor; later calls do nothing. */
  close(): void;
}

/** One entry of a folder as the folder itself records it: nothing statted, no symlink followed. */
export interface FolderEntry {
  /** The entry's name: valid UTF-8, one segment. */
  readonly name: string;
  /** The kind the folder records for it; a symlink is "symlink" until `open` follows it. */
  readonly kind: EntryKind;
  /**
   * The entry's stat when the folder's own listing carries it (an object
   * store's LIST: size, time, ETag): final, with nothing to follow, so the
   * caller needs no `statEntry` for it.
   */
  readonly stat?: FileStat;
}

/** The names of a folder, in name order, as `Layer.listNames` returns them. */
export interface FolderNames {
  readonly names: string[];
  /** Names that cannot be addressed (not valid UTF-8, or "", "." or ".." on an object store): only counted. */
  readonly unreadable: number;
  /**
   * What the listing itself says of a name, when the storage's listing
   * carries it (an object store): final, so the name need not be opened to
   * be walked; a name without one must be opened.
   */
  readonly stats?: ReadonlyMap<string, FileStat>;
}

/** A folder opened for reading its entries; the caller must `close()` it exactly once, whatever happens. */
export interface OpenFolder {
  /** The path as requested. */
  readonly path: LayerPath;
  /** The real path's segments below the layer root (differs from `path` when a symlink was followed). */
  readonly realSegments: readonly string[];
  readonly stat: FileStat;
  /**
   * The entries in batches, streamed in the file system's order, so memory
   * stays small whatever the folder's size; iterate once. Names that cannot
   * be addressed (not valid UTF-8) and hidden names the layer would not
   * serve (any, unless `hidden: "allow"`) are left out; every other entry is
   * still subject to `open`'s checks when it is opened.
   */
  entries(): AsyncIterable<readonly FolderEntry[]>;
  /**
   * The kind, size and time of the entry `name` of this folder, without
   * following a symlink (statted by path inside the folder's real path);
   * null when it is gone or cannot be statted. Raises NOT_READABLE when the
   * folder can no longer be entered (closed to the service since it was
   * opened), so no entry is silently dropped for that.
   */
  statEntry(name: string): Promise<FileStat | null>;
  /** Releases the folder; later calls do nothing. */
  close(): void;
}

/**
 * What a caller opens a path for: a download wants a file, a listing a
 * folder, an archive either. It orders the errors of an entry the service
 * may not read as the SPEC does (NOT_A_FILE before NOT_READABLE): a folder
 * closed to the service is NOT_A_FILE to a download, NOT_READABLE to a
 * listing or an archive.
 */
export type OpenWants = 'file' | 'folder' | 'any';

export interface Layer {
  readonly name: string;
  readonly policy: FilePolicy;
  /** Who sends a checked file's body (SPEC, Delivery); absent means filegate itself ("proxy"). */
  readonly delivery?: DeliveryConfig;
  /**
   * Opens `target` for reading after the confinement, hidden and symlink
   * rules, and returns it with its fstat. Raises FSTYPE_UNAVAILABLE,
   * PATH_NOT_ALLOWED, NOT_FOUND (also for a path too long for the layer's
   * storage to reach), NOT_A_FILE (when the entry cannot even be opened and
   * is not what `wants` asks for), NOT_READABLE or UNAVAILABLE (out of
   * descriptors). A directory, FIFO or device is opened (without blocking)
   * and returned: the file policy decides what to do with it. `wants`
   * defaults to "file"; under "folder" or "any", a folder the service can
   * read but not enter (its entries cannot be reached) is NOT_READABLE too.
   */
  open(target: LayerPath, wants?: OpenWants): Promise<OpenFile>;
  /**
   * The names in the folder at `target` (opened with the checks of `open`
   * for a folder, but not required to be entered: only names are read), in
   * name order; names that are not valid UTF-8 cannot be addressed and are
   * only counted. Each name must still be opened with `open`, which checks
   * it again (and fails NOT_READABLE when the folder cannot be entered).
   */
  listNames(target: LayerPath): Promise<FolderNames>;
  /**
   * Opens the folder at `target` for reading its entries, after the checks
   * of `open(target, "folder")`: NOT_A_FILE when it is not a folder,
   * NOT_READABLE when the service may not read it or may read it but not
   * enter it (its entries could not be statted). The entries are read
   * through the descriptor that was checked, not by path again.
   */
  openFolder(target: LayerPath): Promise<OpenFolder>;
  /** True when the layer's root can be reached now. */
  isReachable(): Promise<boolean>;
  /**
   * How many files an archive may open ahead of the one it is writing: 0
   * where an open costs microseconds (a local disk), a few where it costs a
   * round trip (an object store), so a ZIP of many small objects is not a
   * sequence of round trips.
   */
  readonly openAhead: number;
  /** Releases what the layer keeps open (an engine's idle sockets); later requests may open them again. */
  close(): void;
}
