// The "s3" driver: a layer on a key prefix of an S3-compatible bucket, every read pinned to the version the checks saw.

import { Readable, type Writable } from 'node:stream';
import type { DeliveryConfig, S3LayerConfig } from '../../config/schema.js';
import { fail, FilegateError } from '../../errors.js';
import { checkIsFolder } from '../../files/file-policy.js';
import type { FilePolicy } from '../../files/file-policy.js';
import { checkHidden, checkNoDotSegments, type HiddenMode } from '../../paths/confinement.js';
import { isHiddenPath, quotePath, type LayerPath } from '../../paths/layer-path.js';
import { EventLoopPacer, sortInTurns } from '../../event-loop-pacer.js';
import { bodyLength, type BodyPiece, type FileStat, type FolderEntry, type FolderNames, type Layer, type OpenFile, type OpenFolder, type OpenWants, type ResponseOverrides, type SignedLocation } from '../layer.js';
import { BatchedWriter, batchPool, MAX_BATCH_DELAY_MS } from './batched-writer.js';
import { engineBodyCollector } from './engine-body-collector.js';
import { createEngineClient, type EngineClient, type GetResult } from './engine-client.js';
import { isEngineError } from './engine-error.js';
import { toLayerError } from './engine-failure.js';
import type { ObjectSummary } from './engine-xml.js';
import { toObjectKey } from './object-key.js';
import { planObjectReads, type ReadStep } from './object-reads.js';
import { presignGet, type PresignTarget } from './presign.js';

/**
 * Bytes fetched with the checks of a download, in the same GET: a small
 * object (a thumbnail, a JSON result) is then served after one round trip,
 * and a bigger one's first bytes (a media file's header) too.
 */
const HELD_BYTES = 64 * 1024;

/** Ranges of one body this close are fetched in one GET, the bytes between them read and dropped. */
const MERGE_GAP = 64 * 1024;

/** Keys asked for per LIST page: the engines' own cap. */
const LIST_PAGE = 1000;

/** Objects an archive opens (and starts reading) ahead of the one it writes, each holding at most HELD_BYTES. */
const OPEN_AHEAD = 8;

/** What the layer's files and folders share: the client, the layer's name, and how a failure is reported. */
interface ObjectSource {
  readonly client: EngineClient;
  readonly layer: string;
  /** The bucket and keys a presigned URL of the layer names (delivery "redirect"). */
  readonly presign: PresignTarget;
}

export class S3Layer implements Layer {
  readonly name: string;
  readonly policy: FilePolicy;
  readonly openAhead = OPEN_AHEAD;
  readonly delivery: DeliveryConfig;
  private readonly prefix: string;
  private readonly presign: PresignTarget;
  private readonly hidden: HiddenMode;
  private readonly client: EngineClient;

  constructor(name: string, config: S3LayerConfig, client?: EngineClient) {
    this.name = name;
    this.prefix = config.prefix;
    this.hidden = config.hidden;
    this.delivery = config.delivery;
    // Presigned URLs name the engine as clients reach it: SigV4 signs the host, so it must be that name.
    const publicEndpoint = config.delivery.mode === 'redirect' ? (config.delivery.endpoint ?? config.endpoint) : config.endpoint;
    this.presign = { endpoint: publicEndpoint, region: config.region, bucket: config.bucket, forcePathStyle: config.forcePathStyle, credentials: config.credentials };
    // The config's own keys are the client's options (endpoint, region, bucket, path style, credentials).
    this.client = client ?? createEngineClient(config);
    this.policy = {
      owner: `layer "${name}"`,
      maxFileSize: config.maxFileSize,
      allowEmpty: config.allowEmpty,
      types: config.types,
      extensions: config.extensions,
    };
  }

  async isReachable(): Promise<boolean> {
    try {
      await this.client.list(this.prefix, { maxKeys: 1 });
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.client.close();
  }

  /**
   * A file is an object; a folder is a key prefix with something under it
   * (a `name/` marker object or any key), and the root always is one. An
   * object and a prefix of the same name: the object is the file. A download
   * (`wants` "file") fetches the first bytes with the checks, in one GET;
   * a listing or an archive asks for the object and the prefix at once.
   */
  async open(target: LayerPath, wants: OpenWants = 'file'): Promise<OpenFile> {
    const key = this.keyOf(target);
    if (target.segments.length === 0) return this.folderFile(target, key);
    try {
      if (wants === 'file') return await this.openWithFirstBytes(target, key);
      const [stat, isFolder] = await Promise.all([this.statOrNull(key), this.hasKeysUnder(`${key}/`)]);
      if (stat !== null) return new S3OpenFile(this.source(), target, key, stat, Buffer.alloc(0));
      if (isFolder) return this.folderFile(target, key);
    } catch (error) {
      throw toLayerError(error, this.name, target);
    }
    this.failNotFound(target);
  }

  async openFolder(target: LayerPath): Promise<OpenFolder> {
    const folder = await this.open(target, 'folder');
    checkIsFolder(folder.stat.kind, target.text);
    return new S3OpenFolder(this.source(), folder, this.folderKeyOf(target), this.hidden);
  }

  async listNames(target: LayerPath): Promise<FolderNames> {
    const folder = await this.openFolder(target);
    const pacer = new EventLoopPacer();
    const names: string[] = [];
    const stats = new Map<string, FileStat>();
    let unreadable = 0;
    try {
      for await (const page of listFolder(this.source(), target, this.folderKeyOf(target))) {
        unreadable += page.unreadable;
        for (const entry of page.entries) {
          names.push(entry.name);
          // A hidden name is opened by the walk, so the layer's hidden rule answers for it (before any request).
          if (this.hidden === 'allow' || !isHiddenPath([entry.name])) stats.set(entry.name, entry.stat);
        }
        await pacer.step();
      }
    } finally {
      folder.close();
    }
    return { names: await sortInTurns(names, pacer), unreadable, stats };
  }

  private source(): ObjectSource {
    return { client: this.client, layer: this.name, presign: this.presign };
  }

  /** The object key of `target`, after the checks that need no request: dot segments, hidden names, the key's length. */
  private keyOf(target: LayerPath): string {
    checkNoDotSegments(target);
    checkHidden(target.segments, this.hidden, target.text);
    return toObjectKey(this.prefix, target.segments, target.text);
  }

  /** The prefix of the keys inside the folder `target` ("" or ending in "/"). */
  private folderKeyOf(target: LayerPath): string {
    return target.segments.length === 0 ? this.prefix : `${toObjectKey(this.prefix, target.segments, target.text)}/`;
  }

  private folderFile(target: LayerPath, key: string): OpenFile {
    return new S3OpenFile(this.source(), target, key, folderStat(key), Buffer.alloc(0));
  }

  /** One GET of the object's first bytes, which also says its size, ETag and time; a prefix of that name is then asked for only when there is no object. */
  private async openWithFirstBytes(target: LayerPath, key: string): Promise<OpenFile> {
    let got: GetResult;
    try {
      got = await this.client.get(key, { range: { start: 0, end: HELD_BYTES - 1 } });
    } catch (error) {
      if (!isEngineError(error)) throw error;
      // An empty object has no byte 0 to give: ask what it is.
      if (error.status === 416) return new S3OpenFile(this.source(), target, key, toStat(key, await this.client.head(key)), Buffer.alloc(0));
      if (error.kind !== 'not-found') throw error;
      if (await this.hasKeysUnder(`${key}/`)) return this.folderFile(target, key);
      this.failNotFound(target);
    }
    const held = await readHeld(got, HELD_BYTES);
    return new S3OpenFile(this.source(), target, key, toStat(key, got), held);
  }

  /**
   * What the object `key` is, or null when there is none: a GET of its first
   * byte, not a HEAD, since a HEAD's 404 or 403 has no body to tell a
   * missing object from a missing bucket, nor a refused object from refused
   * credentials, and the engine client would have to ask again.
   */
  private async statOrNull(key: string): Promise<FileStat | null> {
    return probeObject(this.client, key);
  }

  /** True when any key starts with `prefix` (a marker object counts): the folder exists. */
  private async hasKeysUnder(prefix: string): Promise<boolean> {
    const page = await this.client.list(prefix, { maxKeys: 1 });
    return page.objects.length + page.prefixes.length + page.undecodable > 0;
  }

  private failNotFound(target: LayerPath): never {
    fail('NOT_FOUND', `${quotePath(target.text)} does not exist in layer "${this.name}"`);
  }
}

/** The stat of the object `key` from a GET of its first byte (a HEAD for an empty one), or null when there is none. */
async function probeObject(client: EngineClient, key: string): Promise<FileStat | null> {
  try {
    const got = await client.get(key, { range: { start: 0, end: 0 } });
    got.body.resume();
    return toStat(key, got);
  } catch (error) {
    if (!isEngineError(error)) throw error;
    if (error.kind === 'not-found') return null;
    if (error.status === 416) return toStat(key, await client.head(key));
    throw error;
  }
}

/**
 * The stat of an object from what the engine said of it (a HEAD, a GET's
 * headers, or a LIST entry). The time is kept to the whole second: a LIST
 * may give milliseconds (radosgw does) where a GET's Last-Modified gives
 * seconds, and a listing and a download of one object must say the same.
 */
function toStat(key: string, object: { size: number; etag: string; lastModifiedMs: number }): FileStat {
  return { kind: 'file', size: object.size, mtimeMs: Math.floor(object.lastModifiedMs / 1000) * 1000, identity: key, etag: object.etag };
}

/** A prefix has no size and no time of its own; its identity is its key with the "/". */
function folderStat(key: string): FileStat {
  return { kind: 'directory', size: 0, mtimeMs: 0, identity: `${key}/` };
}

/**
 * Reads the first bytes a GET carried (at most `limit`). An answer of at
 * most `limit` bytes (the range asked for) is read to its end, so that its
 * connection goes back to the pool: leaving it as soon as `limit` bytes have
 * come would destroy the answer and its connection before its end is read.
 * An engine that sent more (it ignored the range) is cut at `limit`.
 */
async function readHeld(got: GetResult, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const whole = got.length <= limit;
  for await (const chunk of got.body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    bytes += chunk.length;
    if (bytes >= limit && !whole) break;
  }
  if (!got.body.readableEnded) got.body.destroy();
  const held = Buffer.concat(chunks);
  return held.length > limit ? held.subarray(0, limit) : held;
}

class S3OpenFile implements OpenFile {
  readonly realSegments: readonly string[];
  /** Engine answers being read; destroyed by `close`. */
  private readonly reading = new Set<Readable>();
  private closed = false;

  constructor(
    private readonly source: ObjectSource,
    readonly path: LayerPath,
    private readonly key: string,
    readonly stat: FileStat,
    /** The object's first bytes, fetched with the checks. */
    private readonly held: Buffer,
  ) {
    // No symlinks: the entry lies where it was asked for.
    this.realSegments = path.segments;
  }

  createReadStream(pieces: readonly BodyPiece[]): Readable {
    return Readable.from(this.chunks(pieces), { objectMode: false });
  }

  async writeTo(pieces: readonly BodyPiece[], out: Writable, onWrite?: (bytes: number) => void): Promise<number> {
    const writer = new BatchedWriter(out, batchPool, bodyLength(pieces), MAX_BATCH_DELAY_MS, onWrite);
    let written = 0;
    try {
      // BatchedWriter.add has copied all of a chunk when it resolves.
      for await (const chunk of this.chunks(pieces, true)) {
        await writer.add(chunk);
        written += chunk.length;
      }
      await writer.finish();
      return written;
    } finally {
      writer.close();
    }
  }

  async read(pieces: readonly BodyPiece[]): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks(pieces)) chunks.push(chunk);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  signedLocation(overrides: ResponseOverrides, ttlMs: number, nowMs: number): SignedLocation {
    return presignGet(this.source.presign, this.key, overrides, ttlMs, nowMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const body of this.reading) body.destroy();
    this.reading.clear();
  }

  /**
   * The body's bytes in order: held bytes sliced, the rest fetched span by
   * span, each GET pinned to the ETag the checks saw. `copied`: the caller
   * has copied each chunk by the time it asks for the next, so a chunk from
   * the engine is freed as soon as its last piece has been taken.
   */
  private async *chunks(pieces: readonly BodyPiece[], copied = false): AsyncGenerator<Buffer> {
    for (const step of planObjectReads(pieces, this.held.length, MERGE_GAP)) {
      if (step.kind === 'literal') yield step.bytes;
      else if (step.kind === 'held') yield this.held.subarray(step.start, step.end + 1);
      else yield* this.fetch(step, copied);
    }
  }

  private async *fetch(step: Extract<ReadStep, { kind: 'fetch' }>, copied: boolean): AsyncGenerator<Buffer> {
    if (this.closed) throw new Error('the file was closed');
    let got: GetResult;
    try {
      got = await this.source.client.get(this.key, { range: step.span, ...(this.stat.etag === undefined ? {} : { ifMatch: this.stat.etag }) });
    } catch (error) {
      throw toLayerError(error, this.source.layer, this.path);
    }
    const { body } = got;
    this.reading.add(body);
    try {
      if (got.status !== 206 || (this.stat.etag !== undefined && got.etag !== this.stat.etag)) {
        // An engine that ignored the range or the pin: these bytes are not the ones asked for.
        throw new FilegateError('UNAVAILABLE', `${quotePath(this.path.text)} changed in the object store while it was being read; retry`, { headers: { 'Retry-After': '1' } });
      }
      const { parts } = step;
      let position = step.span.start;
      let index = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        let offset = 0;
        while (offset < chunk.length && index < parts.length) {
          const part = parts[index]!;
          if (Buffer.isBuffer(part)) {
            yield part;
            index += 1;
            continue;
          }
          const at = position + offset;
          if (at < part.start) {
            offset += Math.min(part.start - at, chunk.length - offset);
            continue;
          }
          const take = Math.min(part.end + 1 - at, chunk.length - offset);
          yield chunk.subarray(offset, offset + take);
          offset += take;
          if (position + offset > part.end) index += 1;
        }
        position += chunk.length;
        // Each chunk is a buffer of its own: freed now once every piece of it has been copied, else left to the collector.
        if (copied) engineBodyCollector.release(chunk);
        else engineBodyCollector.note(chunk.length);
      }
      if (index < parts.length) throw new Error(`${quotePath(this.path.text)} ended early in the object store`);
    } finally {
      this.reading.delete(body);
      if (!body.readableEnded) body.destroy();
    }
  }
}

/** One page of a folder's entries, each with the stat its LIST entry carries. */
interface ListedPage {
  readonly entries: ReadonlyArray<{ readonly name: string; readonly stat: FileStat }>;
  /** Entries that cannot be addressed: an empty name (`a//b`), or bytes that are not UTF-8. */
  readonly unreadable: number;
}

/**
 * The entries of the folder whose keys start with `folderKey`, page by page
 * in the engine's order: objects as files, common prefixes as folders, the
 * folder's own marker (`folderKey` itself) left out. A prefix named like an
 * object of the folder is left out too: the object is the file. That object
 * always comes first (its key is a prefix of the prefix's keys), but may be
 * pages earlier, so the names of objects that could still meet their
 * prefix are kept until the listing has passed where it would come.
 */
async function* listFolder(source: ObjectSource, target: LayerPath, folderKey: string): AsyncGenerator<ListedPage> {
  const objectNames = new Set<string>();
  let startAfter: string | undefined;
  do {
    let page;
    try {
      page = await source.client.list(folderKey, { delimiter: '/', maxKeys: LIST_PAGE, ...(startAfter === undefined ? {} : { startAfter }) });
    } catch (error) {
      throw toLayerError(error, source.layer, target);
    }
    const entries: Array<{ name: string; stat: FileStat }> = [];
    let unreadable = page.undecodable;
    for (const object of page.objects) {
      const name = object.key.slice(folderKey.length);
      if (name === '') continue;
      objectNames.add(name);
      entries.push({ name, stat: summaryStat(object) });
    }
    for (const prefix of page.prefixes) {
      const name = prefix.slice(folderKey.length, -1);
      if (name === '') unreadable += 1;
      else if (!objectNames.has(name)) entries.push({ name, stat: folderStat(prefix.slice(0, -1)) });
    }
    startAfter = page.isTruncated ? page.nextStartAfter : undefined;
    // Keys still to come sort after startAfter; an object's prefix sorts after "name/" too, so once past it, forget the name.
    if (startAfter === undefined) objectNames.clear();
    else for (const name of objectNames) if (compareBytes(`${folderKey}${name}/`, startAfter) < 0) objectNames.delete(name);
    yield { entries, unreadable };
    if (page.isTruncated && startAfter === undefined) break;
  } while (startAfter !== undefined);
}

function summaryStat(object: ObjectSummary): FileStat {
  return toStat(object.key, object);
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

class S3OpenFolder implements OpenFolder {
  constructor(
    private readonly source: ObjectSource,
    private readonly folder: OpenFile,
    private readonly folderKey: string,
    private readonly hidden: HiddenMode,
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
    for await (const page of listFolder(this.source, this.folder.path, this.folderKey)) {
      const batch: FolderEntry[] = [];
      for (const { name, stat } of page.entries) {
        // What open would refuse by the name alone: NOT_FOUND under "ignore", PATH_NOT_ALLOWED under "deny".
        if (this.hidden !== 'allow' && isHiddenPath([name])) continue;
        batch.push({ name, kind: stat.kind, stat });
      }
      if (batch.length > 0) yield batch;
    }
  }

  async statEntry(name: string): Promise<FileStat | null> {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) return null;
    const key = `${this.folderKey}${name}`;
    try {
      const [stat, page] = await Promise.all([probeObject(this.source.client, key), this.source.client.list(`${key}/`, { maxKeys: 1 })]);
      if (stat !== null) return stat;
      return page.objects.length + page.prefixes.length + page.undecodable > 0 ? folderStat(key) : null;
    } catch (error) {
      throw toLayerError(error, this.source.layer, this.folder.path);
    }
  }

  close(): void {
    this.folder.close();
  }
}
