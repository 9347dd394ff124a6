// Builds packages in the background, a few at a time, and answers for them: status, ownership, expiry, the sweep.

import { walkSelection, type ArchiveLimits } from '../archives/archive-walk.js';
import { writeArchive, type ArchiveFormat, type ArchiveOptions } from '../archives/send-archive.js';
import type { Principal } from '../auth/principal.js';
import { fail, isFilegateError } from '../errors.js';
import { isEngineError } from '../layers/s3/engine-error.js';
import { formatBytes } from '../files/file-policy.js';
import type { Metrics } from '../http/metrics.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Logger } from '../logger.js';
import { parseLayerPath, toLayerPathText, type LayerPath } from '../paths/layer-path.js';
import { archivePathOf, type ArchiveUpload, type PackageManifest, type PackageStatus, type PackageStore } from './package-store.js';

export interface PackageSettings {
  readonly retentionMs: number;
  readonly maxConcurrent: number;
  /** How often a builder stamps the packages it holds; three missed stamps mean the builder is gone. */
  readonly heartbeatMs: number;
  readonly sweepIntervalMs: number;
  /** Packages one subject may have waiting or building at once. */
  readonly maxPerSubject: number;
  /** Bytes one subject's packages may keep in the spool (ready ones, and builds in flight by their selection's size). */
  readonly maxBytesPerSubject: number;
  /** Packages this replica may hold waiting for a builder. */
  readonly maxQueued: number;
  readonly limits: ArchiveLimits;
  readonly archive: Pick<ArchiveOptions, 'zipCompression' | 'gzipLevel'>;
}

export interface PackageRequest {
  readonly layer: string;
  readonly targets: readonly LayerPath[];
  readonly format: ArchiveFormat;
  readonly filename: string;
}

/** Where the service reports its builds: the app's metrics. */
export type PackageFigures = Pick<Metrics, 'packageBuilt' | 'packageBuildsHeld'>;

const NO_FIGURES: PackageFigures = { packageBuilt: () => {}, packageBuildsHeld: () => {} };

const INTERRUPTED = 'the build was interrupted (the service stopped or restarted); create the package again';

// How long a client over the count or queue cap should wait: about one build of a small selection.
const RETRY_BUILDS_SECONDS = 10;

/** What one subject holds in the spool now. */
interface SubjectUsage {
  /** Packages pending or running. */
  readonly active: number;
  /** Bytes of ready packages, plus the selections of this replica's builds in flight. */
  readonly bytes: number;
  /** When the first ready package expires (ms since the epoch), freeing its bytes; null when none is ready. */
  readonly nextExpiry: number | null;
}

/**
 * The packages of this service. Several replicas may share one folder: any
 * of them answers for any package, a build is held by the replica that
 * started it, and a package whose builder stopped stamping it is reported
 * failed. Packages are deleted once past their expiry by a periodic sweep.
 */
export class PackageService {
  private readonly queue: string[] = [];
  private readonly held = new Set<string>();
  /** Bytes reserved by this replica's builds in flight, per subject: selections walked, archives not yet recorded. */
  private readonly reserved = new Map<string, number>();
  /** Admissions run one at a time, so two requests never both take the last place under a cap. */
  private admitting: Promise<unknown> = Promise.resolve();
  private running = 0;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: PackageStore,
    private readonly layers: Layers,
    private readonly settings: PackageSettings,
    private readonly logger: Logger,
    private readonly figures: PackageFigures = NO_FIGURES,
  ) {}

  async start(): Promise<void> {
    await this.store.init();
    // A spool out of reach (an object store down) does not stop the service: packages answer 503 until it is back.
    await this.sweep().catch((error: unknown) => {
      if (!isFilegateError(error) || error.code !== 'UNAVAILABLE') throw error;
      this.logger.warn({ err: error }, 'the package store cannot be reached; packages answer 503 until it can');
    });
    const every = (ms: number, job: () => Promise<void>) => {
      // A round still running when the next is due is not joined by another:
      // on a slow shared disk, overlapping rounds would pile up and starve the builds.
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        job()
          .catch((error: unknown) => this.logger.error({ err: error }, 'package housekeeping failed'))
          .finally(() => {
            busy = false;
          });
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.settings.heartbeatMs, () => this.heartbeat());
    every(this.settings.sweepIntervalMs, () => this.sweep());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * Records a new package for `principal` (who must have a subject) and
   * queues its build. Raises RATE_LIMITED (with Retry-After) when this
   * replica's queue is full, when the subject already has
   * `maxPerSubject` packages waiting or building, or when its packages keep
   * `maxBytesPerSubject` or more.
   */
  create(principal: Principal & { subject: string }, request: PackageRequest): Promise<PackageManifest> {
    const admit = () => this.admit(principal, request);
    const admitted = this.admitting.then(admit, admit);
    this.admitting = admitted.catch(() => {});
    return admitted;
  }

  private async admit(principal: Principal & { subject: string }, request: PackageRequest): Promise<PackageManifest> {
    if (this.queue.length >= this.settings.maxQueued) {
      fail('RATE_LIMITED', `${this.queue.length} packages are waiting to be built, the most this service queues; retry in a few seconds`, {
        headers: overCap('packages-queued', this.settings.maxQueued, RETRY_BUILDS_SECONDS),
      });
    }
    const usage = await this.usageOf(principal.subject);
    if (usage.active >= this.settings.maxPerSubject) {
      fail('RATE_LIMITED', `you have ${usage.active} packages waiting or being built, the most allowed at once; retry when one is ready`, {
        headers: overCap('packages-building', this.settings.maxPerSubject, RETRY_BUILDS_SECONDS),
      });
    }
    if (usage.bytes >= this.settings.maxBytesPerSubject) this.failOverBytes(usage);
    const now = new Date();
    const manifest: PackageManifest = {
      id: this.store.newId(),
      subject: principal.subject,
      fstype: request.layer,
      paths: request.targets.map(toLayerPathText),
      principalPaths: principal.paths,
      format: request.format,
      filename: request.filename,
      status: 'pending',
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.retentionMs).toISOString(),
    };
    await this.store.create(manifest);
    this.held.add(manifest.id);
    this.queue.push(manifest.id);
    this.pump();
    return manifest;
  }

  /** The package as its owner sees it now, or null when it does not exist or belongs to someone else. */
  async find(principal: Principal, id: string): Promise<PackageManifest | null> {
    const heldBefore = this.held.has(id);
    const manifest = await this.store.read(id);
    if (manifest === null || principal.subject === null || manifest.subject !== principal.subject) return null;
    const abandoned = this.isAbandoned(manifest, heldBefore);
    return { ...manifest, status: this.statusOf(manifest, abandoned), ...(abandoned ? { error: INTERRUPTED } : {}) };
  }

  /** The stored archive's path inside the spool's layer, for a package that is ready. */
  archivePathOf(manifest: PackageManifest): string {
    return archivePathOf(manifest);
  }

  /** Waits until no build runs or is queued (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private statusOf(manifest: PackageManifest, abandoned: boolean): PackageStatus {
    if (Date.now() > Date.parse(manifest.expiresAt)) return 'expired';
    if (abandoned) return 'failed';
    return manifest.status;
  }

  /**
   * A pending or running package that no builder has stamped for three
   * heartbeats. `heldBefore`: this replica held it when the manifest was
   * read. A read can return a manifest stamped just before this replica's
   * build ended, and by the time it is judged the build has let the package
   * go (ready, or failed with its reason): that manifest is old, not
   * abandoned, and a poller must not be told the build was interrupted.
   */
  private isAbandoned(manifest: PackageManifest, heldBefore: boolean): boolean {
    if (manifest.status !== 'pending' && manifest.status !== 'running') return false;
    if (heldBefore || this.held.has(manifest.id)) return false;
    return Date.now() - Date.parse(manifest.updatedAt) > 3 * this.settings.heartbeatMs;
  }

  /** What `subject` holds in the spool now, read from the store (shared by every replica) and this replica's builds. */
  private async usageOf(subject: string): Promise<SubjectUsage> {
    let active = 0;
    let bytes = this.reserved.get(subject) ?? 0;
    let nextExpiry: number | null = null;
    const heldBefore = new Set(this.held);
    for (const manifest of await this.store.list()) {
      if (manifest.subject !== subject) continue;
      const status = this.statusOf(manifest, this.isAbandoned(manifest, heldBefore.has(manifest.id)));
      if (status === 'pending' || status === 'running') active += 1;
      if (status === 'ready') {
        bytes += manifest.size ?? 0;
        const expiry = Date.parse(manifest.expiresAt);
        if (nextExpiry === null || expiry < nextExpiry) nextExpiry = expiry;
      }
    }
    return { active, bytes, nextExpiry };
  }

  /** RATE_LIMITED for a subject whose packages keep too much; retry once the first of them expires. */
  private failOverBytes(usage: SubjectUsage, adding = 0): never {
    const limit = formatBytes(this.settings.maxBytesPerSubject);
    const retry = usage.nextExpiry === null ? RETRY_BUILDS_SECONDS : Math.max(1, Math.ceil((usage.nextExpiry - Date.now()) / 1000));
    const held = adding > 0 ? `${formatBytes(usage.bytes)} already, and this package would add ${formatBytes(adding)}` : formatBytes(usage.bytes);
    fail('RATE_LIMITED', `your packages keep ${held}; the most one subject may keep is ${limit}. Space frees as your packages expire`, {
      headers: overCap('packages-bytes', this.settings.maxBytesPerSubject, retry),
    });
  }

  private pump(): void {
    while (this.running < this.settings.maxConcurrent && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.running += 1;
      // A build records its own failures; one that cannot even record them (the
      // packages folder out of reach, no descriptors left) is logged, never
      // left to end the process as an unhandled rejection.
      void this.build(id)
        .catch((error: unknown) => this.logger.error({ package: id, err: error }, 'package build could not record its outcome'))
        .finally(() => {
          this.running -= 1;
          this.held.delete(id);
          this.pump();
        });
    }
    this.figures.packageBuildsHeld(this.queue.length, this.running);
  }

  /** Builds one package into the spool, where it appears only once complete. */
  private async build(id: string): Promise<void> {
    const manifest = await this.store.update(id, { status: 'running' }, (current) => current.status === 'pending');
    if (manifest === null) return;
    let reservedBytes = 0;
    let upload: ArchiveUpload | null = null;
    try {
      const layer = resolveLayer(this.layers, manifest.fstype);
      const principal: Principal = { subject: manifest.subject, scopes: new Set(['files:archive']), paths: manifest.principalPaths, fstypes: null };
      const targets = manifest.paths.map((text) => parseLayerPath(text, 'path'));
      const selection = await walkSelection(layer, principal, targets, this.settings.limits);
      // The selection's size is reserved before a byte is written, so builds in
      // flight cannot together pass the subject's cap.
      const usage = await this.usageOf(manifest.subject);
      if (usage.bytes + selection.totalBytes > this.settings.maxBytesPerSubject) this.failOverBytes(usage, selection.totalBytes);
      this.reserve(manifest.subject, selection.totalBytes);
      reservedBytes = selection.totalBytes;
      upload = await this.store.openArchive(manifest, selection.totalBytes);
      const outcome = await writeArchive(upload.out, layer, principal, selection, { format: manifest.format, filename: manifest.filename, ...this.settings.archive });
      if (!outcome.completed) throw new Error('a file changed while it was being archived; create the package again');
      const size = await upload.commit();
      // Ready only while still this build's: a package another replica reported failed (its builder seemed gone) stays failed.
      const ready = await this.store.update(id, { status: 'ready', size, entries: outcome.entries, skipped: selection.skipped + outcome.leftOut }, (current) => current.status === 'running');
      if (ready === null) {
        await upload.abort();
        return;
      }
      this.logger.info({ package: id, size, entries: outcome.entries }, 'package ready');
      this.figures.packageBuilt('ready');
    } catch (error) {
      await upload?.abort().catch(() => {});
      const reason = reasonOf(error);
      this.logger.warn({ package: id, err: error }, 'package failed');
      this.figures.packageBuilt('failed');
      await this.store.update(id, { status: 'failed', error: reason }, (current) => current.status === 'running');
    } finally {
      this.reserve(manifest.subject, -reservedBytes);
    }
  }

  private reserve(subject: string, bytes: number): void {
    const left = (this.reserved.get(subject) ?? 0) + bytes;
    if (left > 0) this.reserved.set(subject, left);
    else this.reserved.delete(subject);
  }

  /** Stamps every package this replica holds, so others know its builder is alive. */
  private async heartbeat(): Promise<void> {
    // A package another replica already reported failed is not brought back.
    await Promise.all([...this.held].map((id) => this.store.update(id, {}, (current) => current.status === 'pending' || current.status === 'running')));
  }

  /** Deletes packages past their expiry, and marks abandoned builds failed. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const manifest of await this.store.list()) {
      if (this.held.has(manifest.id)) continue;
      if (now > Date.parse(manifest.expiresAt)) {
        await this.store.remove(manifest.id);
        this.logger.info({ package: manifest.id }, 'package expired and deleted');
      } else if (this.isAbandoned(manifest, false)) {
        // Only while no builder stamped it since it was read: a compare-and-swap, whichever replica sweeps.
        await this.store.update(manifest.id, { status: 'failed', error: INTERRUPTED }, (current) => current.updatedAt === manifest.updatedAt);
      }
    }
  }
}

/** The headers of a 429 for a package cap, as every limit answers them: Retry-After, and the draft RateLimit pair. */
function overCap(policy: string, quota: number, retrySeconds: number): Record<string, string> {
  return { 'Retry-After': String(retrySeconds), 'RateLimit-Policy': `"${policy}";q=${quota}`, RateLimit: `"${policy}";r=0;t=${retrySeconds}` };
}

/** A reason a person can act on: the typed error's own message, or a plain account of a disk problem. */
function reasonOf(error: unknown): string {
  if (isFilegateError(error)) return error.message;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC') return 'the package folder is full; free space or ask for a smaller selection';
  if (isEngineError(error)) return 'the package store refused the archive; quote the package id when reporting it';
  if (code === 'EACCES' || code === 'EPERM') return 'the service cannot write to its package folder; operators: check packages.dir';
  if (error instanceof Error && !('code' in error)) return error.message;
  return 'the package could not be built; quote its id when reporting it';
}
