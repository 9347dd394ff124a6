// Keeps packages on disk: one folder per id with a manifest and, once built, the archive.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveFormat } from '../archives/send-archive.js';

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

/**
 * The package folder: every write of a manifest goes to a temporary name
 * first and is renamed into place, so a reader (this replica or another one
 * sharing the folder) never sees half a manifest.
 */
export class PackageStore {
  /** One chain of manifest updates per id: a heartbeat must never write back a status a build just changed. */
  private readonly updates = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  newId(): string {
    return randomUUID();
  }

  folderOf(id: string): string {
    return path.join(this.dir, id);
  }

  async create(manifest: PackageManifest): Promise<void> {
    await fs.mkdir(this.folderOf(manifest.id), { recursive: true });
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

  async write(manifest: PackageManifest): Promise<void> {
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
  update(id: string, changes: Partial<PackageManifest>): Promise<PackageManifest | null> {
    const run = async () => {
      const current = await this.read(id);
      if (current === null) return null;
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
}
