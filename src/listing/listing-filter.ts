// Decides which entries of a folder a listing shows: names that can be addressed, the caller's filters, and the token's paths.

import { isSafeEntrySegment } from '../archives/archive-walk.js';
import { checkPathAllowed, isOnWayOrWithin, isWithinPaths, type Principal } from '../auth/principal.js';
import type { FileCategory } from '../config/schema.js';
import { fail } from '../errors.js';
import { categoryOf, mediaTypeOf } from '../files/file-types.js';
import { MAX_DEPTH, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, quotePath, type LayerPath } from '../paths/layer-path.js';

/** What the caller narrowed the listing to. */
export interface NameFilters {
  /** File categories to keep (folders are kept whatever the categories); null for every file. */
  readonly types: ReadonlySet<FileCategory> | null;
  /** A substring of the name, already lower-cased; null for any name. */
  readonly q: string | null;
  /** The start of the name (a route alias's `prefix`, case-sensitive); null for any name. */
  readonly prefix: string | null;
}

/** The filters of a request: an empty `q` or `prefix` filters nothing, and `q` matches case-insensitively. */
export function toNameFilters(types: ReadonlySet<FileCategory> | null, q: string | undefined, prefix: string | undefined): NameFilters {
  return { types: types === null || types.size === 0 ? null : types, q: q ? q.toLowerCase() : null, prefix: prefix || null };
}

/** True when the name passes `q` and `prefix`, which apply to files and folders alike: decided before any I/O. */
export function matchesName(name: string, filters: NameFilters): boolean {
  if (filters.prefix !== null && !name.startsWith(filters.prefix)) return false;
  return filters.q === null || name.toLowerCase().includes(filters.q);
}

/**
 * True when a file passes the `type` filter: its category (from its name,
 * as a download's Content-Type) is one of those asked for. Folders are not
 * filtered by type: a file browser filtering for images still needs the
 * folders to walk into.
 */
export function matchesType(name: string, filters: NameFilters): boolean {
  if (filters.types === null) return true;
  const category = categoryOf(mediaTypeOf(name));
  return category !== null && filters.types.has(category);
}

/**
 * True when the child `name` of `folder` could be asked for by path, so a
 * listing may offer it: a name an archive could hold (no backslash, control
 * character or "/", not "." or ".."), within the limits `parseLayerPath`
 * puts on a path (segment and path bytes, depth). Anything else could be
 * listed but never downloaded, so it is left out.
 */
export function isAddressableChild(folder: LayerPath, name: string): boolean {
  if (!isSafeEntrySegment(name) || folder.segments.length + 1 > MAX_DEPTH) return false;
  const bytes = Buffer.byteLength(name, 'utf8');
  const folderBytes = folder.segments.reduce((sum, segment) => sum + Buffer.byteLength(segment, 'utf8') + 1, 0);
  return bytes <= MAX_SEGMENT_BYTES && folderBytes + bytes <= MAX_PATH_BYTES;
}

/**
 * Raises FORBIDDEN unless a principal may list the folder `target`: it lies
 * within the token's paths, or on the way to one of them (a token limited to
 * "users/42" may list "users" and sees only "42"; "users/420" is refused).
 */
export function checkFolderAllowed(principal: Principal, target: LayerPath): void {
  if (!isOnWayOrWithin(principal.paths, target.segments)) checkPathAllowed(principal, target.segments, target.text);
}

/**
 * Raises FORBIDDEN unless the folder's real path (a symlinked folder) keeps
 * to the token's paths as its requested path does: a folder asked for within
 * them must really lie within them, one on the way must really lie on the
 * way or within (the archive walk's rule).
 */
export function checkRealFolderAllowed(principal: Principal, target: LayerPath, realSegments: readonly string[]): void {
  const allowed = isWithinPaths(principal.paths, target.segments) ? isWithinPaths : isOnWayOrWithin;
  if (!allowed(principal.paths, realSegments)) fail('FORBIDDEN', `the token does not grant access to ${quotePath(target.text)} (it leads elsewhere through a symlink)`);
}

/**
 * True when a principal sees an entry, by its requested and its real
 * segments alike: a folder within the token's paths or on the way to them,
 * a file within them (what a download of it would need).
 */
export function isVisibleTo(paths: Principal['paths'], directory: boolean, segments: readonly string[], realSegments: readonly string[]): boolean {
  const allowed = directory ? isOnWayOrWithin : isWithinPaths;
  return allowed(paths, segments) && allowed(paths, realSegments);
}
