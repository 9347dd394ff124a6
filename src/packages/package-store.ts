// The package spool every replica shares: what a store of packages does, and the store on a folder (one folder per id with a manifest and, once built, the archive).

import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ArchiveFormat } from '../archives/send-archive.js';
import type { BufferPool } from '../layers/descriptor-pump.js';
import type { Layer } from '../layers/layer.js';
import { OsLayer } from '../layers/os-layer.js';

export type PackageStatus = 'pending' | 'running' | 'ready' | 'failed' | 'expired';

/** The manifest of one package, as stored in `<dir>/<id>/manifest.json`. */
export interface PackageManifest {
  readonly id: string;
  /** The `sub` of the principal who made it: only they may see or fetch it. */
  readonly subject: string;
  readonly fstype: string;
  readonly paths: readonly string[];
  /** The principal's own limits, applied again when the package is built. */
  readonly principalPaths: readonly (readonly string[])[] | null;
  readonly format: ArchiveFormat;
  /** The name the client saves the archive under, extension included. */
  readonly filename: string;
  readonly status: PackageStatus;
  readonly createdAt: string;
  /** Last write of the manifest; a builder refreshes it while it holds the package. */
  readonly updatedAt: string;
  readonly expiresAt: string;
  readonly size?: number;
  readonly entries?: number;
  readonly skipped?: number;
  readonly error?: string;
}

/** The archive file's name inside a package folder. */
export function archiveFileOf(manifest: Pick<PackageManifest, 'format'>): string {
  return manifest.format === 'zip' ? 'archive.zip' : 'archive.tar.gz';
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `id` has the shape of a package id (so it can never name another path). */
export function isPackageId(id: string): boolean {
  return ID.test(id);
}

/** An archive being written into the spool: nothing of it is visible until `commit`. */
export interface ArchiveUpload {
  /** Where the archive's bytes go; the writer ends it. */
  readonly out: Writable;
  /** Puts the written archive in place (after `out` has finished); resolves with its size in bytes. */
  commit(): Promise<number>;
  /** Drops what was written; nothing is left behind. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

/**
 * Where packages live, shared by every replica: manifests (created once,
 * then changed only by compare-and-swap, so two replicas never overwrite
 * each other's change) and archives (visible only once whole).
 */
export interface PackageStore {
  /** Prepares the store; raises when it can be reached but cannot keep packages safely. */
  init(): Promise<void>;
  newId(): string;
  /** Stores a new manifest; fails when its id is taken. */
  create(manifest: PackageManifest): Promise<void>;
  /** The manifest, or null when there is no such package (or the id is malformed). */
  read(id: string): Promise<PackageManifest | null>;
  /**
   * Writes `changes` over the stored manifest, stamping `updatedAt`, as one
   * compare-and-swap: a change made meanwhile (by this replica or another)
   * is read again and `changes` applied over it. With `when`, the change is
   * made only while the stored manifest passes it (a build's "ready" only
   * while it is still "running"). Null when the package is gone or `when`
   * refused it.
   */
  update(id: string, changes: Partial<PackageManifest>, when?: (current: PackageManifest) => boolean): Promise<PackageManifest | null>;
  list(): Promise<PackageManifest[]>;
  /** Deletes the package's manifest and archive. */
  remove(id: string): Promise<void>;
  /** Starts writing the archive of `manifest`, of about `expectedBytes`. */
  openArchive(manifest: PackageManifest, expectedBytes: number): Promise<ArchiveUpload>;
  /** The ready archives as a layer, at `archivePathOf`, for the transfer code (Range, ETag, HEAD). */
  readonly archives: Layer;
}

/** The archive's path inside the spool's layer. */
export function archivePathOf(manifest: Pick<PackageManifest, 'id' | 'format'>): string {
  return `${manifest.id}/${archiveFileOf(manifest)}`;
}

/**
 * The package folder: every write of a manifest goes to a temporary name
 * first and is renamed into place, so a reader (this replica or another one
 * sharing the folder) never sees half a manifest. Updates of one id run one
 * after another in this process; replicas sharing the folder each update
 * only the packages they hold, and the sweep only those no one holds.
 */
export class FolderPackageStore implements PackageStore {
  /** One chain of manifest updates per id: a heartbeat must never write back a status a build just changed. */
  private readonly updates = new Map<string, Promise<unknown>>();
  readonly archives: Layer;

  constructor(readonly dir: string, transfer: { readSize: number; pool: BufferPool }) {
    this.archives = new OsLayer(
      'packages',
      { driver: 'os', root: dir, maxFileSize: Number.MAX_SAFE_INTEGER, allowEmpty: true, hidden: 'allow', symlinks: 'deny', io: 'inline', delivery: { mode: 'proxy' } },
      transfer,
    );
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await (this.archives as OsLayer).init();
  }

  newId(): string {
    return randomUUID();
  }

  private folderOf(id: string): string {
    return path.join(this.dir, id);
  }

  async create(manifest: PackageManifest): Promise<void> {
    // Not recursive: an id already taken fails here (EEXIST).
    await fs.mkdir(this.folderOf(manifest.id));
    await this.write(manifest);
  }

  /** The manifest, or null when there is no such package (or the id is malformed). */
  async read(id: string): Promise<PackageManifest | null> {
    if (!isPackageId(id)) return null;
    try {
      return JSON.parse(await fs.readFile(path.join(this.folderOf(id), 'manifest.json'), 'utf8')) as PackageManifest;
    } catch {
      return null;
    }
  }

  private async write(manifest: PackageManifest): Promise<void> {
    const file = path.join(this.folderOf(manifest.id), 'manifest.json');
    const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await fs.writeFile(temporary, JSON.stringify(manifest, null, 2));
    await fs.rename(temporary, file);
  }

  /**
   * Writes `changes` over the stored manifest, stamping `updatedAt`. Updates
   * of one id in this process run one after another, each reading what the
   * previous one wrote.
   */
  update(id: string, changes: Partial<PackageManifest>, when?: (current: PackageManifest) => boolean): Promise<PackageManifest | null> {
    const run = async () => {
      const current = await this.read(id);
      if (current === null || (when !== undefined && !when(current))) return null;
      const next = { ...current, ...changes, updatedAt: new Date().toISOString() };
      await this.write(next);
      return next;
    };
    const previous = this.updates.get(id) ?? Promise.resolve();
    const result = previous.then(run, run);
    const settled = result.catch(() => {});
    this.updates.set(id, settled);
    void settled.then(() => {
      if (this.updates.get(id) === settled) this.updates.delete(id);
    });
    return result;
  }

  async list(): Promise<PackageManifest[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const manifests = await Promise.all(names.filter(isPackageId).map((id) => this.read(id)));
    return manifests.filter((manifest): manifest is PackageManifest => manifest !== null);
  }

  async remove(id: string): Promise<void> {
    if (isPackageId(id)) await fs.rm(this.folderOf(id), { recursive: true, force: true });
  }

  /** Written to `<archive>.part`, renamed into place by `commit`. */
  async openArchive(manifest: PackageManifest): Promise<ArchiveUpload> {
    const final = path.join(this.folderOf(manifest.id), archiveFileOf(manifest));
    const partial = `${final}.part`;
    return {
      out: createWriteStream(partial, { flags: 'w' }),
      async commit() {
        const { size } = await fs.stat(partial);
        await fs.rename(partial, final);
        return size;
      },
      async abort() {
        await fs.rm(partial, { force: true });
      },
    };
  }
}
