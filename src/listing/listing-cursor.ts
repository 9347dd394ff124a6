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
// Three dot-separated parts: the id of the key that signed it, the payload
// (unpadded base64url), and the HMAC-SHA256 tag of both (43 characters).
const CURSOR = /^([A-Za-z0-9_-]{1,40})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

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

/** The keys of cursors: the one that signs new cursors, and every one a cursor may have been signed with, by id. */
export interface CursorKeys {
  readonly current: string;
  readonly byId: ReadonlyMap<string, Buffer>;
}

/**
 * The cursor keys derived from `secrets` (id → secret), `current` signing
 * new cursors: one key per secret, so a key added to every replica before
 * it signs anything (the rotation the signing keys follow) never makes a
 * replica refuse another's cursor, and removing one ends only its cursors.
 * With no secret at all (public-key authentication and no signing keys) the
 * key is random per process, and cursors do not survive a restart or cross
 * replicas.
 */
export function deriveCursorKeys(secrets: Readonly<Record<string, string>>, current: string | null): CursorKeys {
  const ids = Object.keys(secrets);
  if (ids.length === 0 || current === null || !(current in secrets)) return { current: 'r', byId: new Map([['r', randomBytes(32)]]) };
  const byId = new Map(ids.map((id) => [id, createHash('sha256').update(KEY_LABEL).update('\0').update(id).update('\0').update(secrets[id]!).digest()]));
  return { current, byId };
}

/** A digest of the scope: the cursor carries it instead of the query itself (`q` may be long). */
function digestOf(scope: CursorScope): string {
  const canonical = [scope.fstype, scope.path, scope.sort, scope.order, scope.dirs, [...scope.types].sort(), scope.q, scope.prefix];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
}

function tagOf(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** The cursor of the page that ends at `last`, for the listing `scope`, signed with the current key. */
export function encodeCursor(keys: CursorKeys, scope: CursorScope, last: Position): string {
  const payload = Buffer.from(JSON.stringify({ v: VERSION, s: digestOf(scope), d: last.directory, k: last.key, n: last.name })).toString('base64url');
  const signed = `${keys.current}.${payload}`;
  return `${signed}.${tagOf(keys.byId.get(keys.current)!, signed)}`;
}

/**
 * The position a cursor ends at. Raises BAD_REQUEST when the cursor was not
 * made with one of `keys` (changed, cut short, forged, signed with a key
 * since removed, or from a process whose key was random), or belongs to
 * another listing (another folder, layer, sort, order, dirs, type, q or
 * prefix); `limit` may change between pages.
 */
export function decodeCursor(keys: CursorKeys, scope: CursorScope, cursor: string): Position {
  const match = CURSOR.exec(cursor);
  const key = match === null ? undefined : keys.byId.get(match[1]!);
  // The tags are compared as text: two base64url texts can decode to the same bytes.
  const expected = key === undefined ? '' : tagOf(key, `${match![1]}.${match![2]}`);
  if (match === null || !timingSafeEqual(Buffer.from(expected.padEnd(43)), Buffer.from(match[3]!))) {
    fail('BAD_REQUEST', 'the parameter "cursor" is not valid (changed or cut short); use next_cursor exactly as a listing gave it, or start again without it');
  }
  let payload: z.output<typeof payloadSchema>;
  try {
    payload = payloadSchema.parse(JSON.parse(Buffer.from(match[2]!, 'base64url').toString('utf8')));
  } catch {
    fail('BAD_REQUEST', 'the parameter "cursor" is not valid; start again without it');
  }
  if (payload.s !== digestOf(scope)) {
    fail('BAD_REQUEST', 'the parameter "cursor" belongs to another listing: keep path, fstype, sort, order, dirs, type and q as they were, or start again without it');
  }
  return { directory: payload.d, key: payload.k, name: payload.n };
}
