// Walks the files and folders asked for in an archive, before its first byte: what goes in, what is left out, and the limits.

import { checkPathAllowed, isOnWayOrWithin, isWithinPaths, type Principal } from '../auth/principal.js';
import { fail, isFilegateError } from '../errors.js';
import { checkFilePolicy, formatBytes } from '../files/file-policy.js';
import type { FileStat, Layer } from '../layers/layer.js';
import type { LayerPath } from '../paths/layer-path.js';
import { toSavedName } from '../transfer/content-disposition.js';
import { EventLoopPacer } from '../event-loop-pacer.js';

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
  /** Every entry the walk looked at, whatever became of it: what `archive.maxEntries` bounds. */
  readonly looked: number;
}

export interface ArchiveLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

// Names taken from a folder between two turns of the event loop at most. The
// layer's inline I/O makes each entry's open, readlink, fstat and close
// synchronous calls (about 16 µs an entry on a warm local disk), so without
// a pause a walk of 100,000 entries held every other request for seconds;
// 64 entries are about 1 ms here, and the pacer's clock ends a batch of
// slower entries (a cold disk) as early.
const WALK_BATCH = 64;

// A name that cannot stand in an archive entry as it is: a backslash (read as a
// separator by Windows tools: the zip-slip of `..\..\evil.bat`) or a control character.
const UNSAFE_NAME = /[\\\u0000-\u001f\u007f-\u009f]/;

/** True when `name` may be written as one segment of an entry name. */
export function isSafeEntrySegment(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !UNSAFE_NAME.test(name) && !name.includes('/');
}

/**
 * The segment written in an entry name for the file or folder `name`, or
 * null when it cannot stand in one (`isSafeEntrySegment`): a control
 * character stays a reason to leave the entry out, since a download could
 * not address it either; a bidirectional control, which only disguises how
 * the name displays (`invoice\u202Egpj.exe`), is replaced with "_".
 */
export function toEntrySegment(name: string): string | null {
  return isSafeEntrySegment(name) ? toSavedName(name) : null;
}

/**
 * The entry name prefix of a requested path: its last segment as it is
 * saved (a folder asked for keeps its own name in the archive), or nothing
 * for the layer root.
 */
export function entryPrefixOf(target: LayerPath): string[] {
  const last = target.segments.at(-1);
  return last === undefined ? [] : [toSavedName(last)];
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
 * would refuse fails the whole request with that error.
 *
 * Every entry the walk looks at (a requested path that becomes an entry, and
 * every name of a walked folder inside or on the way to the principal's
 * paths), whether it goes in or is left out, counts toward
 * `limits.maxEntries`: ARCHIVE_TOO_LARGE as soon as the count or the bytes
 * pass the limits, and BAD_REQUEST when two requested paths would share an
 * entry name. Yields to the event loop every few dozen entries, so other
 * requests are served while it runs, and stops at the next entry, with what
 * it has, once `signal` is aborted (the client went away).
 */
export async function walkSelection(layer: Layer, principal: Principal, targets: readonly LayerPath[], limits: ArchiveLimits, signal?: AbortSignal): Promise<ArchiveSelection> {
  const tally = new WalkTally(limits, signal);
  const visited = new Set<string>();
  const tops = new Set<string>();

  for (const target of targets) {
    if (tally.stopped()) break;
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
        visited.add(file.stat.identity);
        if (prefix.length > 0) {
          tally.look();
          tally.include({ name: `${top}/`, kind: 'directory', path: target, size: 0, mtimeMs: file.stat.mtimeMs });
        }
        stack.push({ path: target, name: prefix });
      } else {
        checkFilePolicy(file.stat, [target.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''], layer.policy, target.text);
        tally.look();
        tally.include({ name: top, kind: 'file', path: target, size: file.stat.size, mtimeMs: file.stat.mtimeMs });
      }
    } finally {
      file.close();
    }

    while (stack.length > 0 && !tally.stopped()) {
      const folder = stack.pop()!;
      const children = await layer.listNames(folder.path);
      // Names that cannot be addressed (not UTF-8) were looked at, and are left out.
      tally.look(children.unreadable);
      tally.leaveOut(children.unreadable);
      const taken = new EntryNames(children.names);
      const found: Array<{ path: LayerPath; name: string[] }> = [];
      for (const childName of children.names) {
        await tally.pace();
        if (tally.stopped()) break;
        const segments = [...folder.path.segments, childName];
        // Outside the token's paths: not looked at, a comparison that calls nothing.
        if (!isOnWayOrWithin(principal.paths, segments)) continue;
        tally.look();
        const segment = taken.claim(childName);
        if (segment === null) {
          tally.leaveOut(1);
          continue;
        }
        const child: LayerPath = { text: segments.join('/'), segments };
        const name = [...folder.name, segment];
        const listed = children.stats?.get(childName);
        const outcome = listed === undefined ? await inspect(layer, principal, child) : judge(layer, principal, child, listed, segments);
        if (outcome === 'absent') continue;
        if (outcome === 'refused') {
          tally.leaveOut(1);
          continue;
        }
        if (outcome.kind === 'directory') {
          if (visited.has(outcome.identity)) continue;
          visited.add(outcome.identity);
          tally.include({ name: `${name.join('/')}/`, kind: 'directory', path: child, size: 0, mtimeMs: outcome.mtimeMs });
          found.push({ path: child, name });
        } else if (isWithinPaths(principal.paths, segments)) {
          tally.include({ name: name.join('/'), kind: 'file', path: child, size: outcome.size, mtimeMs: outcome.mtimeMs });
        }
      }
      // Depth first, in name order: push in reverse so the first name is walked first.
      for (let index = found.length - 1; index >= 0; index -= 1) stack.push(found[index]!);
    }
  }
  return tally.selection();
}

/** What a walk has found so far, its limits, its pace and its stop. */
class WalkTally {
  private readonly entries: ArchiveEntry[] = [];
  private skipped = 0;
  private totalBytes = 0;
  private looked = 0;
  private readonly pacer = new EventLoopPacer(WALK_BATCH);

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Counts `count` more entries looked at; ARCHIVE_TOO_LARGE once there are more than `maxEntries`. */
  look(count = 1): void {
    this.looked += count;
    if (this.looked > this.limits.maxEntries) {
      fail('ARCHIVE_TOO_LARGE', `the selection has more than ${this.limits.maxEntries} entries (files and folders, those left out included), the most an archive may hold here; archive fewer files, or use a package`);
    }
  }

  /** Leaves out `count` entries already looked at, counted in `skipped`. */
  leaveOut(count: number): void {
    this.skipped += count;
  }

  /** Puts `entry`, already looked at, in the archive; ARCHIVE_TOO_LARGE once the bytes pass the limit. */
  include(entry: ArchiveEntry): void {
    this.entries.push(entry);
    this.totalBytes += entry.size;
    if (this.totalBytes > this.limits.maxBytes) {
      fail('ARCHIVE_TOO_LARGE', `the selection holds more than ${formatBytes(this.limits.maxBytes)}, the most an archive may hold here; archive fewer files, or use a package`);
    }
  }

  /** Lets the event loop turn every `WALK_BATCH` names or `TURN_BUDGET_MS` of work, so other requests are served during a long walk. */
  pace(): Promise<void> {
    return this.pacer.step();
  }

  /** True once the client went away: nothing more is looked at. */
  stopped(): boolean {
    return this.signal?.aborted === true;
  }

  selection(): ArchiveSelection {
    return { entries: this.entries, skipped: this.skipped, totalBytes: this.totalBytes, looked: this.looked };
  }
}

/**
 * The entry segments of one folder's names. Replacing bidirectional controls
 * could make two names of a folder one (`a\u202Eb` and `a_b`): the name whose
 * segment is already taken is left out, so no two entries share a name.
 */
class EntryNames {
  /** Every name of the folder, made only when a replaced name must be checked against them. */
  private names: Set<string> | null = null;
  /** Segments given to names that had to be replaced. */
  private readonly replaced = new Set<string>();

  constructor(private readonly all: readonly string[]) {}

  /** The segment for `name`, or null when it must be left out (unsafe, or its segment taken). */
  claim(name: string): string | null {
    const segment = toEntrySegment(name);
    if (segment === null || segment === name) return segment;
    this.names ??= new Set(this.all);
    if (this.names.has(segment) || this.replaced.has(segment)) return null;
    this.replaced.add(segment);
    return segment;
  }
}

type Inspection = 'absent' | 'refused' | { kind: 'file' | 'directory'; size: number; mtimeMs: number; identity: string };

/** Opens one entry found in a folder with the download's own checks, and says whether it goes in. */
async function inspect(layer: Layer, principal: Principal, child: LayerPath): Promise<Inspection> {
  let file;
  try {
    // A file or a folder: a folder that cannot be entered is refused here, once, not entered.
    file = await layer.open(child, 'any');
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
      return { kind: 'directory', size: 0, mtimeMs: stat.mtimeMs, identity: stat.identity };
    }
    if (!isWithinPaths(principal.paths, file.realSegments)) return 'absent';
    checkFilePolicy(stat, [child.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''], layer.policy, child.text);
    return { kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, identity: stat.identity };
  } catch (error) {
    if (isFilegateError(error)) return 'refused';
    throw error;
  } finally {
    file.close();
  }
}

/**
 * Judges an entry by what its folder's listing said of it (an object store's
 * LIST): nothing to open and nothing to follow, so its real path is its path,
 * and the paths and file-policy checks are those `inspect` makes.
 */
function judge(layer: Layer, principal: Principal, child: LayerPath, stat: FileStat, segments: readonly string[]): Inspection {
  if (stat.kind === 'directory') {
    return isOnWayOrWithin(principal.paths, segments) ? { kind: 'directory', size: 0, mtimeMs: stat.mtimeMs, identity: stat.identity } : 'absent';
  }
  if (!isWithinPaths(principal.paths, segments)) return 'absent';
  try {
    checkFilePolicy(stat, [child.segments.at(-1) ?? ''], layer.policy, child.text);
  } catch (error) {
    if (isFilegateError(error)) return 'refused';
    throw error;
  }
  return { kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, identity: stat.identity };
}
