// Reads the engine's XML answers (a ListObjectsV2 page, an error body, an upload id) into plain values and writes its few XML requests, with fast-xml-parser.

import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { decodeListedKey } from './object-key.js';

/** One object of a listing, as the LIST answer carries it (no HEAD needed). */
export interface ObjectSummary {
  readonly key: string;
  readonly size: number;
  /** Upload time in ms since the epoch (the engine keeps it to the second, or the millisecond). */
  readonly lastModifiedMs: number;
  /** The engine's ETag, quoted, as the engine sent it. */
  readonly etag: string;
}

/** One page of a ListObjectsV2 answer, keys and prefixes decoded. */
export interface ListPage {
  readonly objects: readonly ObjectSummary[];
  /** Common prefixes (the "folders" when a delimiter was given), each ending in the delimiter. */
  readonly prefixes: readonly string[];
  readonly isTruncated: boolean;
  /**
   * The `startAfter` for the next page when truncated: the greater (in UTF-8
   * byte order, the engine's order) of the page's last key and last prefix,
   * among those it could decode. Paging by start-after instead of
   * the continuation token: radosgw's token is the raw key, which breaks on
   * control characters.
   */
  readonly nextStartAfter: string | undefined;
  /** Encoded keys or prefixes whose bytes are not valid UTF-8: left out, counted here. */
  readonly undecodable: number;
}

/** The code and message of an engine's error body. */
export interface EngineErrorBody {
  readonly code: string | undefined;
  readonly message: string | undefined;
}

// parseTagValue false: keys such as "0012" or "1e5" stay strings; trimValues
// false: keys with leading or trailing spaces stay intact.
const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'Contents' || name === 'CommonPrefixes',
});

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const record = (value: unknown): Record<string, unknown> =>
  (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});

/**
 * Parses a ListObjectsV2 answer asked for with `encoding-type=url`. Throws
 * when the body is not a ListBucketResult, or an entry lacks a key, a size or
 * a valid time.
 */
export function parseListPage(xml: string): ListPage {
  const root = parser.parse(xml, true) as Record<string, unknown>;
  if (!('ListBucketResult' in root)) throw new Error('the answer is not a ListBucketResult');
  const result = record(root.ListBucketResult);
  const urlEncoded = text(result.EncodingType) === 'url';
  const decode = (raw: string): string | undefined => (urlEncoded ? decodeListedKey(raw) : raw);
  let undecodable = 0;
  let last: string | undefined;
  const later = (candidate: string) => {
    if (last === undefined || Buffer.compare(Buffer.from(candidate, 'utf8'), Buffer.from(last, 'utf8')) > 0) last = candidate;
  };

  const objects: ObjectSummary[] = [];
  for (const entry of (result.Contents as unknown[] | undefined) ?? []) {
    const fields = record(entry);
    const raw = text(fields.Key);
    const size = Number(text(fields.Size));
    const lastModifiedMs = Date.parse(text(fields.LastModified) ?? '');
    if (raw === undefined || !Number.isSafeInteger(size) || size < 0 || Number.isNaN(lastModifiedMs)) {
      throw new Error('a listed object lacks a key, a size or a time');
    }
    const key = decode(raw);
    if (key === undefined) { undecodable++; continue; }
    later(key);
    objects.push({ key, size, lastModifiedMs, etag: text(fields.ETag) ?? '' });
  }
  const prefixes: string[] = [];
  for (const entry of (result.CommonPrefixes as unknown[] | undefined) ?? []) {
    const raw = text(record(entry).Prefix);
    if (raw === undefined) throw new Error('a common prefix lacks its Prefix');
    const prefix = decode(raw);
    if (prefix === undefined) { undecodable++; continue; }
    later(prefix);
    prefixes.push(prefix);
  }
  const isTruncated = text(result.IsTruncated) === 'true';
  return { objects, prefixes, isTruncated, nextStartAfter: isTruncated ? last : undefined, undecodable };
}

/** The code and message of an `<Error>` body; both undefined when the body is empty or not one. */
export function parseErrorBody(xml: string): EngineErrorBody {
  if (xml.trim() === '') return { code: undefined, message: undefined };
  try {
    const error = record((parser.parse(xml) as Record<string, unknown>).Error);
    return { code: text(error.Code) || undefined, message: text(error.Message) || undefined };
  } catch {
    return { code: undefined, message: undefined };
  }
}

/** The UploadId of an InitiateMultipartUploadResult, or undefined when the body is not one. */
export function parseUploadId(xml: string): string | undefined {
  try {
    const result = record((parser.parse(xml) as Record<string, unknown>).InitiateMultipartUploadResult);
    return text(result.UploadId) || undefined;
  } catch {
    return undefined;
  }
}

const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });

/** The body of a CompleteMultipartUpload request: each part's number and ETag, in order. */
export function completionBody(parts: ReadonlyArray<{ readonly partNumber: number; readonly etag: string }>): string {
  const document = {
    CompleteMultipartUpload: {
      '@_xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/',
      Part: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })),
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build(document) as string}`;
}
