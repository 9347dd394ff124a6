// Walks the files and folders asked for in an archive, before its first byte: what goes in, what is left out, and the limits.

import { checkPathAllowed, isOnWayOrWithin, isWithinPaths, type Principal } from '../auth/principal.js';
import { fail, isFilegateError } from '../errors.js';
import { checkFilePolicy, formatBytes } from '../files/file-policy.js';
import type { Layer } from '../layers/layer.js';
import type { LayerPath } from '../paths/layer-path.js';

/** One entry of the archive to be: a file (read when its turn comes) or a folder. */
export interface ArchiveEntry {
  /** The entry's name in the archive: validated segments joined by "/", never absolute. */
  readonly name: string;
  readonly kind: 'file' | 'directory';
  /** The path inside the layer, as walked. */
  readonly path: LayerPath;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface ArchiveSelection {
  readonly entries: readonly ArchiveEntry[];
  /** Entries a download would have refused (outside symlinks, special files, types, sizes, unsafe names). */
  readonly skipped: number;
  readonly totalBytes: number;
}

export interface ArchiveLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

// A name that cannot stand in an archive entry as it is: a backslash (read as a
// separator by Windows tools: the zip-slip of `..\..\evil.bat`) or a control character.
const UNSAFE_NAME = /[\\\u0000-\u001f\u007f-\u009f]/;

/** True when `name` may be written as one segment of an entry name. */
export function isSafeEntrySegment(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !UNSAFE_NAME.test(name) && !name.includes('/');
}

/**
 * The entry name prefix of a requested path: its last segment (a folder
 * asked for keeps its own name in the archive), or nothing for the layer root.
 */
export function entryPrefixOf(target: LayerPath): string[] {
  const last = target.segments.at(-1);
  return last === undefined ? [] : [last];
}

/**
 * Walks every requested path (already authorized) and the folders below
 * them, depth first in name order, and returns what the archive will hold.
 * Each entry goes through the layer's open (confinement, hidden and symlink
 * rules), the principal's paths, and the file policy, the same calls a
 * download makes: what a download would refuse is left out and counted, what
 * a download would call absent (a hidden entry under `hidden: "ignore"`,
 * something outside the token's paths) is left out silently. A folder reached
 * twice (a symlink cycle) is walked once. A requested path that a download
 * would refuse fails the whole request with that error. Raises
 * ARCHIVE_TOO_LARGE as soon as the entries or bytes pass the limits, and
 * BAD_REQUEST when two requested paths would share an entry name. Stops
 * early, with what it has, once `signal` is aborted (the client went away).
 */
export async function walkSelection(layer: Layer, principal: Principal, targets: readonly LayerPath[], limits: ArchiveLimits, signal?: AbortSignal): Promise<ArchiveSelection> {
  const entries: ArchiveEntry[] = [];
  const visited = new Set<string>();
  const tops = new Set<string>();
  let skipped = 0;
  let totalBytes = 0;

  const add = (entry: ArchiveEntry) => {
    entries.push(entry);
    totalBytes += entry.size;
    if (entries.length > limits.maxEntries) {
      fail('ARCHIVE_TOO_LARGE', `the selection has more than ${limits.maxEntries} entries, the most an archive may hold here; archive fewer files, or use a package`);
    }
    if (totalBytes > limits.maxBytes) {
      fail('ARCHIVE_TOO_LARGE', `the selection holds more than ${formatBytes(limits.maxBytes)}, the most an archive may hold here; archive fewer files, or use a package`);
    }
  };

  for (const target of targets) {
    const prefix = entryPrefixOf(target);
    const top = prefix.join('/');
    if (tops.has(top)) fail('BAD_REQUEST', `two of the paths asked for would both be named ${JSON.stringify(top || '/')} in the archive`);
    tops.add(top);
    const stack: Array<{ path: LayerPath; name: string[] }> = [];
    // The requested path itself: any refusal is the request's error.
    const file = await layer.open(target, 'any');
    try {
      checkPathAllowed(principal, file.realSegments, target.text);
      if (file.stat.kind === 'directory') {
        visited.add(`${file.stat.dev}:${file.stat.ino}`);
        if (prefix.length > 0) add({ name: `${top}/`, kind: 'directory', path: target, size: 0, mtimeMs: file.stat.mtimeMs });
        stack.push({ path: target, name: prefix });
      } else {
        checkFilePolicy(file.stat, [target.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''], layer.policy, target.text);
        add({ name: top, kind: 'file', path: target, size: file.stat.size, mtimeMs: file.stat.mtimeMs });
      }
    } finally {
      file.close();
    }

    while (stack.length > 0) {
      if (signal?.aborted) break;
      const folder = stack.pop()!;
      const children = await layer.listNames(folder.path);
      skipped += children.unreadable;
      const found: Array<{ path: LayerPath; name: string[] }> = [];
      for (const childName of children.names) {
        const segments = [...folder.path.segments, childName];
        if (!isOnWayOrWithin(principal.paths, segments)) continue;
        if (!isSafeEntrySegment(childName)) {
          skipped += 1;
          continue;
        }
        const child: LayerPath = { text: segments.join('/'), segments };
        const name = [...folder.name, childName];
        const outcome = await inspect(layer, principal, child);
        if (outcome === 'absent') continue;
        if (outcome === 'refused') {
          skipped += 1;
          continue;
        }
        if (outcome.kind === 'directory') {
          const key = `${outcome.dev}:${outcome.ino}`;
          if (visited.has(key)) continue;
          visited.add(key);
          add({ name: `${name.join('/')}/`, kind: 'directory', path: child, size: 0, mtimeMs: outcome.mtimeMs });
          found.push({ path: child, name });
        } else if (isWithinPaths(principal.paths, segments)) {
          add({ name: name.join('/'), kind: 'file', path: child, size: outcome.size, mtimeMs: outcome.mtimeMs });
        }
      }
      // Depth first, in name order: push in reverse so the first name is walked first.
      for (let index = found.length - 1; index >= 0; index -= 1) stack.push(found[index]!);
    }
  }
  return { entries, skipped, totalBytes };
}


type Inspection = 'absent' | 'refused' | { kind: 'file' | 'directory'; size: number; mtimeMs: number; dev: number; ino: number };

/** Opens one entry found in a folder with the download's own checks, and says whether it goes in. */
async function inspect(layer: Layer, principal: Principal, child: LayerPath): Promise<Inspection> {
  let file;
  try {
    file = await layer.open(child);
  } catch (error) {
    if (!isFilegateError(error)) throw error;
    if (error.code === 'UNAVAILABLE' || error.code === 'FSTYPE_UNAVAILABLE') throw error;
    return error.code === 'NOT_FOUND' ? 'absent' : 'refused';
  }
  try {
    // A followed symlink must land inside the principal's paths as well.
    const { stat } = file;
    if (stat.kind === 'directory') {
      // A folder inside the token's paths must really lead inside them; one
      // only on the way to them must really lead on the way or inside.
      const allowed = isWithinPaths(principal.paths, child.segments) ? isWithinPaths : isOnWayOrWithin;
      if (!allowed(principal.paths, file.realSegments)) return 'absent';
      return { kind: 'directory', size: 0, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino };
    }
    if (!isWithinPaths(principal.paths, file.realSegments)) return 'absent';
    checkFilePolicy(stat, [child.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''], layer.policy, child.text);
    return { kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino };
  } catch (error) {
    if (isFilegateError(error)) return 'refused';
    throw error;
  } finally {
    file.close();
  }
}
