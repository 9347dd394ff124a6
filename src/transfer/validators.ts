// Derives a file's validators (ETag, Last-Modified) once from its fstat.

import type { FileStat } from '../layers/layer.js';
import type { Validators } from './preconditions.js';

// The last tag made: a busy file is asked for again and again with the same size and time.
let last: { size: number; mtimeMs: number; etag: string | undefined; tag: string } = { size: -1, mtimeMs: Number.NaN, etag: undefined, tag: '' };

/**
 * A strong entity tag from what the bytes are, never from where they live
 * (an inode), so every replica serving the same bytes gives the same tag,
 * and `If-Range`/`If-None-Match` hold through a load balancer: on disk their
 * size and modification time (to the microsecond; a rewrite changes the
 * time, and nearly always the size); on an object store their size and the
 * engine's ETag, which changes with every upload of other bytes and which
 * every reader of the bucket sees alike (the upload time alone, in whole
 * seconds, would miss two uploads within a second).
 */
export function toEntityTag(stat: FileStat): string {
  if (stat.size === last.size && stat.mtimeMs === last.mtimeMs && stat.etag === last.etag) return last.tag;
  const tag = stat.etag !== undefined
    // Only the tag's own characters (hex digits, and "-N" for multipart uploads): nothing that could end the quoted string.
    ? `"${stat.size.toString(36)}-${stat.etag.replace(/[^A-Za-z0-9-]/g, '')}"`
    : `"${stat.size.toString(36)}-${Math.round(stat.mtimeMs * 1000).toString(36)}"`;
  last = { size: stat.size, mtimeMs: stat.mtimeMs, etag: stat.etag, tag };
  return tag;
}

// The last date formatted, for the same reason.
let lastSeconds = Number.NaN;
let lastDate = '';

/** The HTTP date of the modification time (second precision, RFC 9110 §5.6.7). */
export function toLastModified(stat: FileStat): string {
  const seconds = Math.floor(stat.mtimeMs / 1000);
  if (seconds !== lastSeconds) {
    lastDate = new Date(seconds * 1000).toUTCString();
    lastSeconds = seconds;
  }
  return lastDate;
}

/** Both validators, as the precondition and range decisions use them. */
export function toValidators(stat: FileStat): Validators {
  return { etag: toEntityTag(stat), lastModifiedSeconds: Math.floor(stat.mtimeMs / 1000) };
}
