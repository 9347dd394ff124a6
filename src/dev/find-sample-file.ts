// Finds a file a layer serves, for the development banner's ready command: a short walk, each file checked as a download checks it.

import type { Principal } from '../auth/principal.js';
import { openAllowedFile } from '../files/open-allowed-file.js';
import type { Layer } from '../layers/layer.js';
import { compareNatural } from '../listing/natural-order.js';
import { parseLayerPath, type LayerPath } from '../paths/layer-path.js';

/** How far the walk looks: entries read in all, and folder levels below the root. */
export interface SampleWalkBounds {
  readonly maxEntries: number;
  readonly maxDepth: number;
}

export const SAMPLE_WALK_BOUNDS: SampleWalkBounds = { maxEntries: 500, maxDepth: 4 };

/** A file the principal can download from the layer, or why none was found. */
export type SampleFile =
  | { readonly filepath: string }
  /** The root could not be opened as a folder (missing, closed to the service, not a folder). */
  | { readonly filepath: null; readonly cause: 'root-unreadable' }
  /** The walk ended without a file the layer serves; `exhausted` when it stopped at `maxEntries` rather than running out of folders. */
  | { readonly filepath: null; readonly cause: 'none-served'; readonly exhausted: boolean };

/**
 * Walks `layer` breadth first (the root's files first, each folder's entries
 * in natural name order) and returns the first file that a download would
 * serve to `principal`: its path is parsed as a request's is, then the
 * layer's confinement, hidden, symlink and readability rules and its file
 * policy (types or extensions, emptiness, size) run through
 * `openAllowedFile`, as they do for a download. Looks at no more than
 * `bounds.maxEntries` entries and `bounds.maxDepth` levels, so a huge tree
 * costs start-up nothing noticeable. Never throws: a root that cannot be
 * read and a walk that found nothing are answers too.
 */
export async function findSampleFile(layer: Layer, principal: Principal, bounds: SampleWalkBounds = SAMPLE_WALK_BOUNDS): Promise<SampleFile> {
  let budget = bounds.maxEntries;
  const folders: LayerPath[] = [{ text: '/', segments: [] }];
  for (let next = folders.shift(); next !== undefined && budget > 0; next = folders.shift()) {
    let entries;
    try {
      entries = await readEntries(layer, next, budget);
    } catch {
      // The root matters: without it there is nothing to offer. A folder below is simply passed over.
      if (next.segments.length === 0) return { filepath: null, cause: 'root-unreadable' };
      continue;
    }
    budget -= entries.length;
    for (const entry of entries) {
      const target = toRequestPath([...next.segments, entry.name]);
      if (target === null) continue;
      if (entry.kind === 'directory') {
        if (target.segments.length <= bounds.maxDepth) folders.push(target);
        continue;
      }
      if (entry.kind !== 'file' && entry.kind !== 'symlink') continue;
      if (await isServed(layer, principal, target)) return { filepath: target.text };
    }
  }
  return { filepath: null, cause: 'none-served', exhausted: budget <= 0 };
}

/** Up to `limit` entries of a folder, in natural name order. */
async function readEntries(layer: Layer, target: LayerPath, limit: number) {
  const folder = await layer.openFolder(target);
  try {
    const entries = [];
    for await (const batch of folder.entries()) {
      entries.push(...batch.slice(0, limit - entries.length));
      if (entries.length >= limit) break;
    }
    return entries.sort((a, b) => compareNatural(a.name, b.name));
  } finally {
    folder.close();
  }
}

/** The path a request would name these segments by, parsed as a request's is; null when a request could not name it (a backslash, a control character). */
function toRequestPath(segments: readonly string[]): LayerPath | null {
  try {
    return parseLayerPath(segments.join('/'));
  } catch {
    return null;
  }
}

/** True when a download of `target` by `principal` would pass every check. */
async function isServed(layer: Layer, principal: Principal, target: LayerPath): Promise<boolean> {
  try {
    (await openAllowedFile(layer, principal, target)).close();
    return true;
  } catch {
    return false;
  }
}
