// Builds object keys from validated path segments and encodes them for a request line, byte by byte, with no URL normalisation.

import { fail } from '../../errors.js';

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * The key of `segments` (already validated by `parseLayerPath`) under the
 * layer's `prefix` ("" or ending in "/"): `prefix` + the segments joined by
 * "/", nothing collapsed or resolved. The root (no segments) is the prefix
 * itself. Raises BAD_REQUEST when the key is over 1024 bytes.
 */
export function toObjectKey(prefix: string, segments: readonly string[], shown = segments.join('/')): string {
  const key = prefix + segments.join('/');
  checkObjectKey(key, shown);
  return key;
}

/**
 * Raises BAD_REQUEST for a key the engine cannot store or that cannot be
 * encoded exactly: over 1024 UTF-8 bytes, or holding a lone surrogate (which
 * UTF-8 would silently turn into U+FFFD, another key). `shown` names it in the
 * message (the client's path, never the layer prefix).
 */
export function checkObjectKey(key: string, shown: string = key): void {
  const quoted = JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
  if (!key.isWellFormed()) fail('BAD_REQUEST', `${quoted} is not valid Unicode text`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    fail('BAD_REQUEST', `${quoted} makes an object key of ${bytes} bytes; an object store allows ${MAX_KEY_BYTES}`);
  }
}

// RFC 3986 section 2.3 unreserved characters, the only bytes SigV4 leaves as they are.
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
const SLASH = 0x2f;
const HEX = '0123456789ABCDEF';

function percentEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if ((byte < 128 && UNRESERVED[byte] === 1) || (keepSlash && byte === SLASH)) out += String.fromCharCode(byte);
    else out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * The key as it goes into a request path: every UTF-8 byte outside the
 * unreserved set percent-encoded, "/" kept literal. Dot segments and empty
 * segments stay exactly as they are ("x/../y", "a//b"), so the path must be
 * handed to `http.request` as is, never through `new URL` or `fetch`, which
 * collapse them. "+" becomes "%2B" (a literal "+" would be read as a space).
 */
export function encodeKeyPath(key: string): string {
  return percentEncode(key, true);
}

/** A query parameter name or value, every byte outside the unreserved set percent-encoded (also "/"). */
export function encodeQueryValue(value: string): string {
  return percentEncode(value, false);
}

/**
 * Decodes a key or prefix from a listing asked for with `encoding-type=url`:
 * "+" is a space and %XX a byte. Returns undefined when the bytes are not
 * valid UTF-8 (such a name cannot be addressed).
 */
export function decodeListedKey(encoded: string): string | undefined {
  const pieces: Buffer[] = [];
  for (const [token] of encoded.matchAll(/%[0-9A-Fa-f]{2}|\+|[^%+]+|%/g)) {
    if (token.length === 3 && token.startsWith('%')) pieces.push(Buffer.of(parseInt(token.slice(1), 16)));
    else if (token === '+') pieces.push(Buffer.of(0x20));
    else pieces.push(Buffer.from(token, 'utf8'));
  }
  try {
    return UTF8.decode(Buffer.concat(pieces));
  } catch {
    return undefined;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
