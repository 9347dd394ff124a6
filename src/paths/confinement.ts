// Decides whether a path stays inside its layer root: dot segments, hidden entries and real paths.

import path from 'node:path';
import { fail } from '../errors.js';
import { hasDotSegment, isHiddenPath, quotePath, type LayerPath } from './layer-path.js';

export type HiddenMode = 'ignore' | 'deny' | 'allow';

/** Raises PATH_NOT_ALLOWED when the path has a "." or ".." segment (SPEC, Paths). */
export function checkNoDotSegments(target: LayerPath): void {
  if (hasDotSegment(target.segments)) {
    fail('PATH_NOT_ALLOWED', `${quotePath(target.text)} contains a "." or ".." segment; paths are relative to the layer root and cannot leave it`);
  }
}

/**
 * Applies the layer's `hidden` rule to `segments`: PATH_NOT_ALLOWED under
 * "deny", NOT_FOUND under "ignore" (hidden entries behave as absent).
 */
export function checkHidden(segments: readonly string[], mode: HiddenMode, shown: string): void {
  if (mode === 'allow' || !isHiddenPath(segments)) return;
  if (mode === 'deny') fail('PATH_NOT_ALLOWED', `${quotePath(shown)} is hidden, and this layer does not serve hidden files`);
  fail('NOT_FOUND', `${quotePath(shown)} does not exist`);
}

/**
 * The segments of `realPath` below `rootReal`, or null when it lies outside.
 * Decided with path.relative on real paths, never with a string prefix.
 */
export function toSegmentsWithin(rootReal: string, realPath: string): string[] | null {
  const relative = path.relative(rootReal, realPath);
  if (relative === '') return [];
  if (path.isAbsolute(relative)) return null;
  const segments = relative.split(path.sep);
  return segments[0] === '..' ? null : segments;
}

export interface ResolvedPolicy {
  hidden: HiddenMode;
  symlinks: 'within-root' | 'deny';
}

/**
 * Checks where a path really leads, once the file is open: inside the root,
 * through no symlink under `symlinks: "deny"`, and onto no hidden entry the
 * layer would hide. Returns the real segments below the root.
 */
export function checkResolvedPath(rootReal: string, realPath: string, requested: LayerPath, policy: ResolvedPolicy): string[] {
  const shown = quotePath(requested.text);
  const real = toSegmentsWithin(rootReal, realPath);
  if (real === null) fail('PATH_NOT_ALLOWED', `${shown} leads outside the layer root through a symlink`);
  const viaSymlink = real.join('/') !== requested.segments.join('/');
  if (viaSymlink && policy.symlinks === 'deny') {
    fail('PATH_NOT_ALLOWED', `${shown} goes through a symlink, and this layer follows no symlinks`);
  }
  if (viaSymlink) checkHidden(real, policy.hidden, requested.text);
  return real;
}
