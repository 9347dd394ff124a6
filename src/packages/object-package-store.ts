// The package spool on an object store: manifests by conditional writes, archives by multipart upload, shared by every replica that reaches the bucket.

import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PackageStoreConfig } from '../config/schema.js';
import { FilegateError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import { createEngineClient, type EngineClient, type UploadedPart } from '../layers/s3/engine-client.js';
import { isEngineError } from '../layers/s3/engine-error.js';
import { S3Layer } from '../layers/s3/s3-layer.js';
import { archivePathOf, isPackageId, type ArchiveUpload, type PackageManifest, type PackageStore } from './package-store.js';

/** The smallest part S3 accepts (but the last); parts grow past it when an archive would need more than MAX_PARTS. */
const MIN_PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** Compare-and-swap attempts of one update before giving up: each loses only to another write of the same manifest. */
const CAS_ATTEMPTS = 10;

/** Manifests read at once by `list`. */
const READS_IN_FLIGHT = 16;

const MANIFEST = 'manifest.json';

/**
 * Packages under `prefix` in a bucket: `<id>/manifest.json` and
 * `<id>/archive.zip` (or `.tar.gz`). A manifest is created with
 * `If-None-Match: *` and every change is a compare-and-swap (`If-Match` the
 * ETag read), so two replicas never both take a package nor overwrite each
 * other's change. Archives go up by multipart upload, about two parts in
 * memory per build, and appear only when complete; an aborted build leaves
 * nothing visible (a lifecycle rule that aborts incomplete uploads is the
 * backstop for a builder that died mid-upload).
 */
export class ObjectPackageStore implements PackageStore {
  readonly archives: Layer;
  private readonly client: EngineClient;
  private readonly prefix: string;
  /** Settles once the engine has shown it keeps conditional writes; reset when it could not be reached. */
  private verified: Promise<void> | null = null;

  constructor(config: PackageStoreConfig, client?: EngineClient) {
    this.prefix = config.prefix;
    // The config's own keys are the client's options (endpoint, region, bucket, path style, credentials).
    this.client = client ?? createEngineClient(config);
    this.archives = new S3Layer(
      'packages',
      { ...config, driver: 's3', maxFileSize: Number.MAX_SAFE_INTEGER, allowEmpty: true, hidden: 'allow', delivery: { mode: 'proxy' } },
      this.client,
    );
  }

  /**
   * Checks, against the engine itself, the write primitives the spool relies
   * on, since engines differ: a second create-only PUT must fail, and a PUT
   * with a stale `If-Match` must fail while one with the current ETag
   * succeeds. An engine that stores either anyway cannot keep packages
   * safely for several replicas: start-up stops, saying which. An engine out
   * of reach does not stop the service; the check runs again on first use.
   */
  async init(): Promise<void> {
    try {
      await this.verify();
    } catch (error) {
      if (error instanceof FilegateError && error.code === 'UNAVAILABLE') return;
      throw error;
    }
  }

  newId(): string {
    return randomUUID();
  }

  async create(manifest: PackageManifest): Promise<void> {
    await this.verify();
    await this.engine(() => this.client.put(this.manifestKey(manifest.id), JSON.stringify(manifest), { ifNoneMatch: '*', contentType: 'application/json' }));
  }

  async read(id: string): Promise<PackageManifest | null> {
    if (!isPackageId(id)) return null;
    return (await this.readTagged(id))?.manifest ?? null;
  }

  async update(id: string, changes: Partial<PackageManifest>, when?: (current: PackageManifest) => boolean): Promise<PackageManifest | null> {
    if (!isPackageId(id)) return null;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt += 1) {
      const current = await this.readTagged(id);
      if (current === null || (when !== undefined && !when(current.manifest))) return null;
      const next = { ...current.manifest, ...changes, updatedAt: new Date().toISOString() };
      try {
        await this.engine(() => this.client.put(this.manifestKey(id), JSON.stringify(next), { ifMatch: current.etag, contentType: 'application/json' }));
        return next;
      } catch (error) {
        if (!isLostRace(error)) throw error;
        // Another write came first: read it, and try again shortly.
        await sleep(Math.random() * 20 * (attempt + 1));
      }
    }
    throw new FilegateError('UNAVAILABLE', `package ${id} is being changed by many writers at once; retry`, { headers: { 'Retry-After': '1' } });
  }

  async list(): Promise<PackageManifest[]> {
    const ids: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.engine(() => this.client.list(this.prefix, { delimiter: '/', ...(startAfter === undefined ? {} : { startAfter }) }));
      for (const prefix of page.prefixes) {
        const id = prefix.slice(this.prefix.length, -1);
        if (isPackageId(id)) ids.push(id);
      }
      startAfter = page.isTruncated ? page.nextStartAfter : undefined;
    } while (startAfter !== undefined);
    const manifests: PackageManifest[] = [];
    for (let index = 0; index < ids.length; index += READS_IN_FLIGHT) {
      const read = await Promise.all(ids.slice(index, index + READS_IN_FLIGHT).map((id) => this.read(id)));
      for (const manifest of read) if (manifest !== null) manifests.push(manifest);
    }
    return manifests;
  }

  async remove(id: string): Promise<void> {
    if (!isPackageId(id)) return;
    const folder = `${this.prefix}${id}/`;
    const page = await this.engine(() => this.client.list(folder));
    // The archive first: a manifest left alone by a failure is swept again; an archive left alone would never be.
    const keys = page.objects.map((object) => object.key).sort((a, b) => Number(a.endsWith(MANIFEST)) - Number(b.endsWith(MANIFEST)));
    for (const key of keys) await this.engine(() => this.client.delete(key));
  }

  async openArchive(manifest: PackageManifest, expectedBytes: number): Promise<ArchiveUpload> {
    const partBytes = Math.max(MIN_PART_BYTES, Math.ceil(expectedBytes / (MAX_PARTS - 1)));
    const upload = new MultipartWriter(this.client, `${this.prefix}${archivePathOf(manifest)}`, partBytes, manifest.format === 'zip' ? 'application/zip' : 'application/gzip');
    return {
      out: upload,
      commit: () => this.engine(() => upload.complete()),
      abort: () => upload.abandon(),
    };
  }

  private manifestKey(id: string): string {
    return `${this.prefix}${id}/${MANIFEST}`;
  }

  private async readTagged(id: string): Promise<{ manifest: PackageManifest; etag: string } | null> {
    try {
      const got = await this.engine(() => this.client.get(this.manifestKey(id)));
      const chunks: Buffer[] = [];
      for await (const chunk of got.body as AsyncIterable<Buffer>) chunks.push(chunk);
      return { manifest: JSON.parse(Buffer.concat(chunks).toString('utf8')) as PackageManifest, etag: got.etag };
    } catch (error) {
      if (error instanceof FilegateError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** The check `init` describes, once per process while it holds; UNAVAILABLE while the engine cannot be reached. */
  private verify(): Promise<void> {
    this.verified ??= this.engine(() => checkConditionalWrites(this.client, `${this.prefix}.filegate-probe/${randomUUID()}`));
    this.verified.catch(() => {
      this.verified = null;
    });
    return this.verified;
  }

  /** Runs one engine call, its failures as the service's errors: not found, unreachable (503), refused. */
  private async engine<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!isEngineError(error)) throw error;
      switch (error.kind) {
        case 'not-found':
          throw new FilegateError('NOT_FOUND', 'no such package', { cause: error });
        case 'unavailable':
        case 'slow-down':
          throw new FilegateError('UNAVAILABLE', 'the package store cannot be reached right now; retry shortly', { headers: { 'Retry-After': String(error.retryAfterSeconds ?? 5) }, cause: error });
        default:
          throw error;
      }
    }
  }
}

/** True when a conditional write lost to another writer (a 412, or the 409 or 500 some engines answer to a lost race). */
function isLostRace(error: unknown): boolean {
  const engine = error instanceof FilegateError && isEngineError(error.cause) ? error.cause : error;
  if (!isEngineError(engine)) return false;
  return engine.kind === 'precondition-failed' || (engine.operation === 'PUT' && (engine.status === 409 || engine.status === 500));
}

/** Raises when the engine stores a create-only or stale compare-and-swap PUT anyway. */
async function checkConditionalWrites(client: EngineClient, key: string): Promise<void> {
  const refuses = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return false;
    } catch (error) {
      if (isEngineError(error) && error.kind === 'precondition-failed') return true;
      throw error;
    }
  };
  try {
    const first = await client.put(key, 'first', { ifNoneMatch: '*' });
    if (!(await refuses(() => client.put(key, 'again', { ifNoneMatch: '*' })))) {
      throw new Error('packages.store: the engine stores a PUT with "If-None-Match: *" over an existing object, so two replicas could both take one package; use packages.dir on a shared folder, or an engine that honours conditional writes');
    }
    if (!(await refuses(() => client.put(key, 'stale', { ifMatch: '"00000000000000000000000000000000"' })))) {
      throw new Error('packages.store: the engine stores a PUT whose "If-Match" names another ETag, so replicas could overwrite each other\'s changes; use packages.dir on a shared folder, or an engine that honours conditional writes');
    }
    await client.put(key, 'swapped', { ifMatch: first.etag });
  } finally {
    await client.delete(key).catch(() => {});
  }
}

/**
 * A Writable that uploads what it is given as the parts of one multipart
 * upload: a part goes up once `partBytes` have gathered, and the next write
 * waits for it, so a build holds about two parts. An archive smaller than
 * one part is stored with one PUT at `complete`. Nothing is visible at the
 * key before `complete`.
 */
class MultipartWriter extends Writable {
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private written = 0;
  private uploadId: string | null = null;
  private readonly parts: UploadedPart[] = [];

  constructor(
    private readonly client: EngineClient,
    private readonly key: string,
    private readonly partBytes: number,
    private readonly contentType: string,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.gathered.push(chunk);
    this.gatheredBytes += chunk.length;
    this.written += chunk.length;
    if (this.gatheredBytes < this.partBytes) {
      done();
      return;
    }
    this.sendPart().then(() => done(), done);
  }

  /** Stores what `out` was given: the last part and the completion, or one PUT for a small archive; resolves with the size. */
  async complete(): Promise<number> {
    if (!this.writableFinished) throw new Error('the archive was not written to its end');
    if (this.uploadId === null) {
      await this.client.put(this.key, Buffer.concat(this.gathered), { contentType: this.contentType });
    } else {
      if (this.gatheredBytes > 0) await this.sendPart();
      await this.client.completeMultipartUpload(this.key, this.uploadId, this.parts);
    }
    this.gathered = [];
    return this.written;
  }

  /** Drops the upload and its parts (and the object, should it have completed). */
  async abandon(): Promise<void> {
    this.gathered = [];
    if (!this.destroyed) this.destroy();
    if (this.uploadId !== null) await this.client.abortMultipartUpload(this.key, this.uploadId).catch(() => {});
    await this.client.delete(this.key).catch(() => {});
  }

  private async sendPart(): Promise<void> {
    const body = Buffer.concat(this.gathered);
    this.gathered = [];
    this.gatheredBytes = 0;
    this.uploadId ??= await this.client.createMultipartUpload(this.key, { contentType: this.contentType });
    this.parts.push(await this.client.uploadPart(this.key, this.uploadId, this.parts.length + 1, body));
  }
}
