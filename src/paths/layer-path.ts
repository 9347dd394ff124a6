// Parses a client's relative path into validated segments, before any file system access.

import { fail } from '../errors.js';

/** A path inside a layer, as the client gave it and as validated segments. */
export interface LayerPath {
  /**
   * What the client sent, for messages (never an absolute server path): the
   * value itself, or for a route alias the URL path the alias was asked
   * for, so no message shows the layer path its template hides.
   */
  readonly text: string;
  /** The segments below the layer root; empty for the root itself. */
  readonly segments: readonly string[];
}

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_DEPTH = 64;

// C0 controls, DEL and the C1 controls: none belongs in a file name sent over HTTP.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Validates `raw` (already percent-decoded once by the query parser, and never
 * decoded again) and splits it into segments. A single leading "/" means the
 * layer root. Raises BAD_REQUEST for an empty value, control characters,
 * backslashes, empty segments ("a//b", a leading "//", a trailing "/"), more
 * than 4096 bytes, a segment over 255 bytes or more than 64 levels.
 * "." and ".." segments are kept: `checkNoDotSegments` refuses them at their
 * place in the check order (403 PATH_NOT_ALLOWED). No normalisation is
 * applied, so no encoded form can become a traversal later. `sent` is what
 * the client sent, when not `raw` itself (a route alias's URL path): the
 * path's `text`, and what messages name.
 */
export function parseLayerPath(raw: string, parameter = 'filepath', sent = raw): LayerPath {
  const shown = quotePath(sent);
  if (raw === '') fail('BAD_REQUEST', `${parameter} is empty; give a path relative to the layer root, e.g. "docs/report.pdf"`);
  if (Buffer.byteLength(raw, 'utf8') > MAX_PATH_BYTES) {
    fail('BAD_REQUEST', `${parameter} is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (CONTROL.test(raw)) fail('BAD_REQUEST', `${parameter} ${shown} contains a control character`);
  if (raw.includes('\\')) fail('BAD_REQUEST', `${parameter} ${shown} contains a backslash; separate folders with "/"`);
  const body = raw.startsWith('/') ? raw.slice(1) : raw;
  if (body === '') return { text: sent, segments: [] };
  const segments = body.split('/');
  if (segments.length > MAX_DEPTH) fail('BAD_REQUEST', `${parameter} ${shown} is more than ${MAX_DEPTH} levels deep`);
  for (const segment of segments) {
    if (segment === '') fail('BAD_REQUEST', `${parameter} ${shown} has an empty segment ("//", or a leading or trailing "/")`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      fail('BAD_REQUEST', `${parameter} ${shown} has a name longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  return { text: sent, segments };
}

/** The path inside the layer as text, whatever the client sent: the segments joined by "/", or "/" for the root. */
export function toLayerPathText(path: LayerPath): string {
  return path.segments.length === 0 ? '/' : path.segments.join('/');
}

/** True when any segment is "." or "..". */
export function hasDotSegment(segments: readonly string[]): boolean {
  return segments.some((segment) => segment === '.' || segment === '..');
}

/** True when any segment names a hidden entry (starts with "."). */
export function isHiddenPath(segments: readonly string[]): boolean {
  return segments.some((segment) => segment.startsWith('.'));
}

/** The path quoted for a message, shortened so an error line stays readable. */
export function quotePath(text: string): string {
  const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return JSON.stringify(short);
}
