// Derives a file's validators (ETag, Last-Modified) once from its fstat.

import type { FileStat } from '../layers/layer.js';
import type { Validators } from './preconditions.js';

/**
 * A strong entity tag from what the bytes are: their size and modification
 * time (to the microsecond), never a disk-local identity such as the inode,
 * so replicas serving copies of the same file (or one replica after a
 * restore) give the same tag, and `If-Range`/`If-None-Match` hold through a
 * load balancer. A rewrite changes the time, and nearly always the size.
 */
export function toEntityTag(stat: FileStat): string {
  const micros = Math.round(stat.mtimeMs * 1000);
  return `"${stat.size.toString(36)}-${micros.toString(36)}"`;
}

/** The HTTP date of the modification time (second precision, RFC 9110 §5.6.7). */
export function toLastModified(stat: FileStat): string {
  return new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString();
}

/** Both validators, as the precondition and range decisions use them. */
export function toValidators(stat: FileStat): Validators {
  return { etag: toEntityTag(stat), lastModifiedSeconds: Math.floor(stat.mtimeMs / 1000) };
}
