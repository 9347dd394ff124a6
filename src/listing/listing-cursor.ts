// The opaque cursor of a listing: the last position shown and the query it belongs to, signed so it cannot be forged or moved to another query.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { fail } from '../errors.js';
import type { Position } from './listing-order.js';

/** The longest cursor accepted: a position holds one name of at most 255 bytes. */
export const MAX_CURSOR_LENGTH = 2048;

// A fixed label keeps this key apart from every other use of the same secrets.
const KEY_LABEL = 'filegate listing cursor v1';
const VERSION = 1;
// Two unpadded base64url parts, the signed payload and its HMAC-SHA256 tag (43 characters).
const CURSOR = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

/** What a cursor belongs to: every parameter that decides which entries a listing holds and in which order. */
export interface CursorScope {
  readonly fstype: string;
  /** The folder's segments. */
  readonly path: readonly string[];
  readonly sort: string;
  readonly order: string;
  readonly dirs: string;
  /** The categories asked for, in any order. */
  readonly types: readonly string[];
  readonly q: string | null;
  /** A route alias's name prefix. */
  readonly prefix: string | null;
}

const payloadSchema = z.strictObject({
  v: z.literal(VERSION),
  s: z.string(),
  d: z.boolean(),
  k: z.number().refine(Number.isFinite),
  n: z.string().min(1),
});

/**
 * The key cursors are signed with, derived from the configured secrets
 * (`auth.secret` and every `signing.keys` value): replicas sharing a config
 * accept each other's cursors. With no secret at all (public-key
 * authentication and no signing keys) it is random per process, and cursors
 * do not survive a restart.
 */
export function deriveCursorKey(secrets: readonly string[]): Buffer {
  if (secrets.length === 0) return randomBytes(32);
  return createHash('sha256').update(KEY_LABEL).update('\0').update(JSON.stringify(secrets)).digest();
}

/** A digest of the scope: the cursor carries it instead of the query itself (`q` may be long). */
function digestOf(scope: CursorScope): string {
  const canonical = [scope.fstype, scope.path, scope.sort, scope.order, scope.dirs, [...scope.types].sort(), scope.q, scope.prefix];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
}

function tagOf(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** The cursor of the page that ends at `last`, for the listing `scope`. */
export function encodeCursor(key: Buffer, scope: CursorScope, last: Position): string {
  const payload = Buffer.from(JSON.stringify({ v: VERSION, s: digestOf(scope), d: last.directory, k: last.key, n: last.name })).toString('base64url');
  return `${payload}.${tagOf(key, payload)}`;
}

/**
 * The position a cursor ends at. Raises BAD_REQUEST when the cursor was not
 * made with `key` (changed, cut short, forged, or from a process whose key
 * was random), or belongs to another listing (another folder, layer, sort,
 * order, dirs, type, q or prefix); `limit` may change between pages.
 */
export function decodeCursor(key: Buffer, scope: CursorScope, cursor: string): Position {
  const match = CURSOR.exec(cursor);
  // The tags are compared as text: two base64url texts can decode to the same bytes.
  const expected = match === null ? '' : tagOf(key, match[1]!);
  if (match === null || !timingSafeEqual(Buffer.from(expected), Buffer.from(match[2]!))) {
    fail('BAD_REQUEST', 'the parameter "cursor" is not valid (changed or cut short); use next_cursor exactly as a listing gave it, or start again without it');
  }
  let payload: z.output<typeof payloadSchema>;
  try {
    payload = payloadSchema.parse(JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')));
  } catch {
    fail('BAD_REQUEST', 'the parameter "cursor" is not valid; start again without it');
  }
  if (payload.s !== digestOf(scope)) {
    fail('BAD_REQUEST', 'the parameter "cursor" belongs to another listing: keep path, fstype, sort, order, dirs, type and q as they were, or start again without it');
  }
  return { directory: payload.d, key: payload.k, name: payload.n };
}
