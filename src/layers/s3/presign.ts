// Presigned GET URLs for an object (SigV4 query signing), minted per time window so repeated requests get the same URL.

import aws4 from 'aws4';
import type { ResponseOverrides, SignedLocation } from '../layer.js';
import type { EngineCredentials } from './engine-client.js';
import { checkObjectKey, encodeKeyPath, encodeQueryValue } from './object-key.js';

/** Where the bucket is and who signs: the keys of an s3 layer that a URL depends on. */
export interface PresignTarget {
  /** `http://host:port` or `https://host`. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly forcePathStyle: boolean;
  readonly credentials: EngineCredentials;
}

/** The longest a SigV4 presigned URL may live (S3: 7 days). */
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

/**
 * A URL that lets anyone holding it GET `key` (already a full key, prefix
 * included) for a while, with `overrides` as the response's headers (S3's
 * `response-*` parameters, which engines honour on signed GETs only). Nothing
 * of the caller is in it: only the layer's own credentials sign it, and only
 * the `host` header is signed, so the client sends nothing special (a client
 * that adds its own `Authorization` is refused by the engine: a request may
 * carry one signature only).
 *
 * The signing time is `nowMs` rounded down to a window of half `ttlMs` (whole
 * seconds), and the URL lives `ttlMs` from then: every request within one
 * window gets the same URL, byte for byte (so a browser's cache of it
 * holds), and it is always valid for at least half `ttlMs` after it is handed
 * out. The key is encoded byte for byte (`encodeKeyPath`), never through
 * `new URL`, which would resolve "." and ".." segments. Raises BAD_REQUEST for
 * a key the engine cannot take (see `checkObjectKey`).
 */
export function presignGet(target: PresignTarget, key: string, overrides: ResponseOverrides, ttlMs: number, nowMs: number): SignedLocation {
  checkObjectKey(key);
  const endpoint = new URL(target.endpoint);
  const hostname = target.forcePathStyle ? endpoint.hostname : `${target.bucket}.${endpoint.hostname}`;
  const host = endpoint.port ? `${hostname}:${endpoint.port}` : hostname;
  const path = target.forcePathStyle ? `/${encodeKeyPath(target.bucket)}/${encodeKeyPath(key)}` : `/${encodeKeyPath(key)}`;

  const ttlSeconds = Math.min(MAX_EXPIRES_SECONDS, Math.max(2, Math.floor(ttlMs / 1000)));
  const windowSeconds = Math.floor(ttlSeconds / 2);
  const signedAtSeconds = Math.floor(Math.floor(nowMs / 1000) / windowSeconds) * windowSeconds;
  const query: Record<string, string> = {
    'X-Amz-Date': toAmzDate(signedAtSeconds),
    'X-Amz-Expires': String(ttlSeconds),
    'response-cache-control': overrides.cacheControl,
    'response-content-disposition': overrides.contentDisposition,
    'response-content-type': overrides.contentType,
  };
  // Every byte outside the unreserved set is escaped, so aws4's own parsing
  // of the query gives back exactly these values, and its output path (which
  // escapes the same way) is what was signed.
  const search = Object.entries(query).map(([name, value]) => `${name}=${encodeQueryValue(value)}`).join('&');
  const signed = aws4.sign(
    { host, path: `${path}?${search}`, method: 'GET', service: 's3', region: target.region, signQuery: true },
    { accessKeyId: target.credentials.accessKeyId, secretAccessKey: target.credentials.secretAccessKey },
  );
  return { url: `${endpoint.protocol}//${host}${signed.path}`, expiresAtMs: (signedAtSeconds + ttlSeconds) * 1000 };
}

/** SigV4's basic ISO 8601 time: `20240101T000000Z`. */
function toAmzDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[:-]|\.\d{3}/g, '');
}
