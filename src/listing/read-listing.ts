// Reads one page of a folder's listing through its layer: the folder streamed, each entry held to the download's rules, the page kept in bounded memory.

import { isWithinPaths, type Principal } from '../auth/principal.js';
import { isFilegateError } from '../errors.js';
import { isTypeAllowed } from '../files/file-policy.js';
import type { FileStat, FolderEntry, Layer, OpenFolder } from '../layers/layer.js';
import type { LayerPath } from '../paths/layer-path.js';
import { checkRealFolderAllowed, isAddressableChild, isVisibleTo, matchesName, matchesType, type NameFilters } from './listing-filter.js';
import { PageSelector, sortKeyOf, type ListingOrder, type Position } from './listing-order.js';

// Entries whose I/O (a symlink's open, a stat for size or time) runs at once:
// enough to keep a thread-pool layer busy, few enough to bound descriptors.
const IO_BATCH = 64;

/** One page to read. */
export interface ListingRequest {
  readonly folder: LayerPath;
  readonly order: ListingOrder;
  readonly filters: NameFilters;
  /** The most entries on the page. */
  readonly limit: number;
  /** Where the previous page ended; null for the first page. */
  readonly after: Position | null;
}

/** An entry shown in a listing. */
export interface ListedEntry extends Position {
  readonly kind: 'file' | 'directory';
  /** Its path below the layer root, as it would be asked for. */
  readonly segments: readonly string[];
  readonly size: number;
  readonly mtimeMs: number;
}

export interface ListingPage {
  readonly entries: readonly ListedEntry[];
  /** Entries of the folder that pass the filters, on every page. */
  readonly total: number;
  /** True when entries lie after this page. */
  readonly hasMore: boolean;
  /** Where this page ends (its last entry chosen, even one gone since); null for an empty page. */
  readonly last: Position | null;
}

/** An entry that passed every check: its stat is known once a symlink was followed or the sort needed it. */
interface Candidate extends Position {
  readonly stat: FileStat | null;
}

/**
 * Reads the page of `request.folder` after `request.after`. The folder is
 * opened through the layer (confinement, hidden and symlink rules; 404,
 * NOT_A_FILE for a file) and must really lie where the token's paths allow.
 * Each entry is shown only when a download could ask for it: an addressable
 * name, a file or folder (never a FIFO, socket or device), a symlink only
 * once the layer's `open` has followed it (so it stays inside the root and
 * obeys `symlinks` and `hidden`), within the token's paths (folders also on
 * the way to them), and a file only of a type the layer serves. Entries are
 * statted only when needed: every candidate when sorting by size or time,
 * else the page's entries alone. Memory stays O(limit) whatever the
 * folder's size. Raises what the layer raises for the folder, FORBIDDEN for
 * a folder that leads outside the token's paths, and UNAVAILABLE when out of
 * descriptors.
 */
export async function readListing(layer: Layer, principal: Principal, request: ListingRequest): Promise<ListingPage> {
  const folder = await layer.openFolder(request.folder);
  try {
    checkRealFolderAllowed(principal, request.folder, folder.realSegments);
    // Within the token's paths, so is every child: no per-entry check needed.
    const withinPaths = isWithinPaths(principal.paths, request.folder.segments) && isWithinPaths(principal.paths, folder.realSegments);
    const needsStat = request.order.sort !== 'name';
    const selector = new PageSelector<Candidate>(request.order, request.limit, request.after);
    let total = 0;
    const take = (candidate: Candidate | null) => {
      if (candidate === null) return;
      total += 1;
      selector.offer(candidate);
    };
    let pending: Array<Promise<Candidate | null>> = [];
    const flush = async () => {
      for (const candidate of await Promise.all(pending)) take(candidate);
      pending = [];
    };

    for await (const batch of folder.entries()) {
      for (const entry of batch) {
        if (!isAddressableChild(request.folder, entry.name) || !matchesName(entry.name, request.filters)) continue;
        if (entry.kind === 'symlink') {
          pending.push(followSymlink(layer, principal, request, entry));
        } else if (entry.kind === 'file' || entry.kind === 'directory') {
          // A FIFO, socket or device is never listed: a download would refuse it.
          const directory = entry.kind === 'directory';
          const visible = withinPaths || isVisibleTo(principal.paths, directory, [...request.folder.segments, entry.name], [...folder.realSegments, entry.name]);
          if (!visible || (!directory && !isFileShown(layer, request.filters, entry.name, entry.name))) continue;
          if (needsStat) pending.push(statCandidate(folder, request, entry));
          else take({ directory, key: 0, name: entry.name, stat: entry.stat ?? null });
        }
        if (pending.length >= IO_BATCH) await flush();
      }
    }
    await flush();

    const page = selector.page();
    // Sorted by name, nothing was statted yet: only the page's entries are.
    const stats = await Promise.all(page.map((candidate) => candidate.stat ?? folder.statEntry(candidate.name)));
    const entries: ListedEntry[] = [];
    page.forEach((candidate, index) => {
      const stat = stats[index];
      // Gone, or changed kind, since the folder was read: left out of this page.
      if (!stat || stat.kind !== (candidate.directory ? 'directory' : 'file')) return;
      const segments = [...request.folder.segments, candidate.name];
      entries.push({ directory: candidate.directory, key: candidate.key, name: candidate.name, kind: stat.kind, segments, size: stat.size, mtimeMs: stat.mtimeMs });
    });
    const last = page.at(-1);
    return { entries, total, hasMore: selector.hasMore(), last: last === undefined ? null : { directory: last.directory, key: last.key, name: last.name } };
  } finally {
    folder.close();
  }
}

/**
 * True when a file may be listed: of a type the layer serves, by its name
 * and by its target's name when it is a followed symlink (a download checks
 * both), and of a type the caller asked for.
 */
function isFileShown(layer: Layer, filters: NameFilters, name: string, realName: string): boolean {
  return isTypeAllowed(name, layer.policy) && isTypeAllowed(realName, layer.policy) && matchesType(name, filters);
}

/** Stats a file or folder for its sort key; null when it is gone or changed kind since the folder was read. */
async function statCandidate(folder: OpenFolder, request: ListingRequest, entry: FolderEntry): Promise<Candidate | null> {
  const stat = entry.stat ?? (await folder.statEntry(entry.name));
  if (stat === null || stat.kind !== entry.kind) return null;
  const directory = stat.kind === 'directory';
  return { directory, key: sortKeyOf(request.order.sort, { directory, size: stat.size, mtimeMs: stat.mtimeMs }), name: entry.name, stat };
}

/**
 * Opens a symlink through the layer, as a download would: what `open`
 * refuses or cannot find (outside the root, `symlinks: "deny"`, a hidden
 * target, dangling, a cycle) is absent, and so is a target that is neither a
 * file nor a folder. Running out of descriptors, or losing the layer, fails
 * the listing instead.
 */
async function followSymlink(layer: Layer, principal: Principal, request: ListingRequest, entry: FolderEntry): Promise<Candidate | null> {
  const segments = [...request.folder.segments, entry.name];
  let file;
  try {
    file = await layer.open({ text: segments.join('/'), segments });
  } catch (error) {
    if (!isFilegateError(error) || error.code === 'UNAVAILABLE' || error.code === 'FSTYPE_UNAVAILABLE') throw error;
    return null;
  }
  try {
    const { stat } = file;
    if (stat.kind !== 'file' && stat.kind !== 'directory') return null;
    const directory = stat.kind === 'directory';
    // A followed symlink must land within the token's paths too, and its target's name pass the type rule.
    if (!isVisibleTo(principal.paths, directory, segments, file.realSegments)) return null;
    if (!directory && !isFileShown(layer, request.filters, entry.name, file.realSegments.at(-1) ?? entry.name)) return null;
    return { directory, key: sortKeyOf(request.order.sort, { directory, size: stat.size, mtimeMs: stat.mtimeMs }), name: entry.name, stat };
  } finally {
    file.close();
  }
}
