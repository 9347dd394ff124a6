// Signs and verifies presigned URLs: HMAC-SHA256 over method, path and the canonical query, with an expiry and a key id.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';
import type { Query } from '../http/query.js';

/** The parameters a signature adds to a URL. */
export const SIGNATURE_PARAMETERS = ['expires', 'kid', 'sig'] as const;

// HMAC-SHA256 is 32 bytes: 43 characters of unpadded base64url.
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,12}$/;
const DOWNLOAD_PATH = '/api/download';
const ARCHIVE_PATH = '/api/archive';

/** What a verified signature grants: one method on one path, with these parameters. */
export interface SignedGrant {
  readonly method: string;
  readonly path: string;
  readonly query: Query;
  readonly kid: string;
  /** The `sig` the URL carries: with `kid`, what tells one link from another. */
  readonly signature: string;
  readonly expires: number;
}

/** A URL as signed: its path and query, ready to put after a base URL. */
export interface SignedTarget {
  readonly url: string;
  /** Unix seconds. */
  readonly expires: number;
}

/** RFC 3986 percent-encoding of a query name or value: only unreserved characters stay as they are. */
export function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The string a signature covers: the method, the path as sent, and every
 * query parameter but `sig` (each name and value decoded once, then encoded
 * the RFC 3986 way, pairs sorted by name and then value), one per line. Any
 * parameter added, removed or changed changes it; two spellings of the same
 * decoded value do not.
 */
export function canonicalRequest(method: string, path: string, query: Query): string {
  const pairs: string[] = [];
  for (const [name, values] of query) {
    if (name === 'sig') continue;
    for (const value of values) pairs.push(`${encodeQueryComponent(name)}=${encodeQueryComponent(value)}`);
  }
  pairs.sort();
  return `${method}\n${path}\n${pairs.join('&')}`;
}

export class UrlSigner {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(private readonly signing: Config['signing']) {
    this.keys = new Map(Object.entries(signing.keys).map(([kid, secret]) => [kid, Buffer.from(secret, 'utf8')]));
  }

  /** True when a current key is configured, so new URLs can be signed. */
  get enabled(): boolean {
    return this.signing.currentKey !== null;
  }

  /**
   * The Unix second a new URL expires at: `requestedMs` (or
   * `signing.defaultTtl`), capped by `signing.maxTtl`, and by the signing
   * token's own expiry when `signing.boundToToken` is set.
   */
  expiryFor(requestedMs: number | undefined, tokenExpires: number | null, nowMs = Date.now()): number {
    const lifetime = Math.min(requestedMs ?? this.signing.defaultTtl, this.signing.maxTtl);
    let expires = Math.floor((nowMs + lifetime) / 1000);
    if (this.signing.boundToToken && tokenExpires !== null) expires = Math.min(expires, tokenExpires);
    return expires;
  }

  /**
   * Signs `method` on `path` with `params` (in the order given) until
   * `expires`, with the current key. Raises FORBIDDEN when no signing key is
   * configured.
   */
  sign(method: string, path: string, params: ReadonlyArray<readonly [string, string]>, expires: number): SignedTarget {
    const kid = this.signing.currentKey;
    const key = kid === null ? undefined : this.keys.get(kid);
    if (kid === null || key === undefined) fail('FORBIDDEN', 'signed URLs are not enabled on this service (configure signing.keys and signing.currentKey)');
    const all: Array<readonly [string, string]> = [...params, ['expires', String(expires)], ['kid', kid]];
    const query = new Map<string, string[]>();
    for (const [name, value] of all) query.set(name, [...(query.get(name) ?? []), value]);
    const sig = hmac(key, canonicalRequest(method, path, query));
    const text = [...all, ['sig', sig] as const].map(([name, value]) => `${encodeQueryComponent(name)}=${encodeQueryComponent(value)}`).join('&');
    return { url: `${path}?${text}`, expires };
  }

  /**
   * Verifies a request that carries a signature and returns what it grants.
   * Raises FORBIDDEN, saying which: a missing, repeated or malformed `sig`,
   * `kid` or `expires`; an unknown key; a signature that does not match (any
   * parameter changed or added, or another method or path); an expired URL.
   * The signature is compared in constant time, after a length check.
   */
  verify(method: string, path: string, query: Query, nowMs = Date.now()): SignedGrant {
    const sig = single(query, 'sig');
    const kid = single(query, 'kid');
    const expiresText = single(query, 'expires');
    if (!SIGNATURE.test(sig)) fail('FORBIDDEN', 'the signature (sig) is malformed: expected 43 characters of base64url');
    if (!EXPIRES.test(expiresText)) fail('FORBIDDEN', 'the signed URL\'s "expires" must be Unix seconds, digits only');
    const key = this.keys.get(kid);
    if (key === undefined) fail('FORBIDDEN', `the signed URL names an unknown key "${kid.slice(0, 32)}"; it may have been retired`);
    const expected = Buffer.from(hmac(key, canonicalRequest(method, path, query)), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      fail('FORBIDDEN', `the signature does not match: the URL was changed, or it was signed for another method than ${method}`);
    }
    const expires = Number(expiresText);
    if (nowMs >= expires * 1000) fail('FORBIDDEN', `the signed URL expired at ${new Date(expires * 1000).toISOString()}`);
    return { method, path, query, kid, signature: sig, expires };
  }
}

/** True when a request carries any of the signature parameters, and so is judged by its signature alone. */
export function hasSignature(query: Query): boolean {
  return SIGNATURE_PARAMETERS.some((name) => query.has(name));
}

/** The same, read from a raw query string that did not parse: the parameter names as sent. */
export function hasSignatureName(querystring: string): boolean {
  return querystring.split('&').some((pair) => (SIGNATURE_PARAMETERS as readonly string[]).includes(pair.split('=', 1)[0]!));
}

function single(query: Query, name: string): string {
  const values = query.get(name);
  if (values === undefined) fail('FORBIDDEN', `the signed URL lacks its "${name}" parameter`);
  if (values.length > 1) fail('FORBIDDEN', `the signed URL's "${name}" parameter is repeated`);
  return values[0]!;
}

function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
}

/** The file a signed download URL grants. */
export interface SignedDownload {
  readonly filepath: string;
  readonly fstype: string;
  readonly disposition?: 'attachment' | 'inline' | undefined;
}

/** Signs one file's `/api/download` for GET and for HEAD, until `expires`: paths and queries to put after a base URL. */
export function signDownload(signer: UrlSigner, file: SignedDownload, expires: number): { get: string; head: string } {
  const params: Array<[string, string]> = [['filepath', file.filepath], ['fstype', file.fstype]];
  if (file.disposition !== undefined) params.push(['disposition', file.disposition]);
  return { get: signer.sign('GET', DOWNLOAD_PATH, params, expires).url, head: signer.sign('HEAD', DOWNLOAD_PATH, params, expires).url };
}

/** Signs a package's download for GET, on behalf of its owner (`sub`), until `expires`: a path and query to put after a base URL. */
export function signPackageDownload(signer: UrlSigner, id: string, owner: string, expires: number): string {
  return signer.sign('GET', `/api/packages/${id}/download`, [['sub', owner]], expires).url;
}

/** The selection a signed archive URL grants: paths of one layer, archived as GET /api/archive would. */
export interface SignedArchive {
  readonly fstype: string;
  /** Each path as `path` takes it, relative to the layer root. */
  readonly paths: readonly string[];
  readonly format: 'zip' | 'tar.gz';
  /** The saved name asked for, if any (else the archive route's own default). */
  readonly name?: string | undefined;
}

/**
 * Signs GET /api/archive of `selection` until `expires`: a path and query to
 * put after a base URL. Every `path`, the layer, the format and the name are
 * signed parameters, so the URL archives that selection and nothing else.
 */
export function signArchiveDownload(signer: UrlSigner, selection: SignedArchive, expires: number): string {
  const params: Array<[string, string]> = [...selection.paths.map((each): [string, string] => ['path', each]), ['fstype', selection.fstype], ['format', selection.format]];
  if (selection.name !== undefined) params.push(['name', selection.name]);
  return signer.sign('GET', ARCHIVE_PATH, params, expires).url;
}
