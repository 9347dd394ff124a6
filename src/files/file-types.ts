// Maps file names to media types and to the SPEC's type categories.

import mime from 'mime-types';
import type { FileCategory } from '../config/schema.js';

const FALLBACK_TYPE = 'application/octet-stream';

// Extensions the mime-types database does not know, or maps to nothing useful.
const EXTRA_TYPES: Record<string, string> = {
  tgz: 'application/gzip',
  parquet: 'application/vnd.apache.parquet',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/x-ndjson',
};

const DOCUMENT_TYPES = new Set([
  'application/pdf',
  'application/msword',
  'application/rtf',
  'application/epub+zip',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'text/markdown',
  'text/rtf',
]);

const ARCHIVE_TYPES = new Set([
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/x-tar',
  'application/x-bzip2',
  'application/x-xz',
  'application/x-7z-compressed',
  'application/vnd.rar',
  'application/x-rar-compressed',
  'application/zstd',
  'application/x-zstd',
]);

const DATA_TYPES = new Set([
  'application/json',
  'application/ld+json',
  'application/geo+json',
  'application/x-ndjson',
  'application/xml',
  'application/yaml',
  'application/x-yaml',
  'application/vnd.apache.parquet',
  'application/x-parquet',
  'application/x-hdf5',
  'application/x-netcdf',
  'application/vnd.sqlite3',
  'application/x-sqlite3',
  'text/csv',
  'text/tab-separated-values',
  'text/xml',
  'text/yaml',
]);

// Types a browser only displays, never runs (SPEC, Transfer semantics: inline
// for passive types). SVG is an image that can carry script, so it is not here.
const PASSIVE_PREFIXES = ['image/', 'audio/', 'video/'];
const PASSIVE_TYPES = new Set(['application/pdf', 'text/plain']);
const ACTIVE_TYPES = new Set(['image/svg+xml']);

/** The media type of a file name by its extension; unknown is application/octet-stream. */
export function mediaTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const extra = dot === -1 ? undefined : EXTRA_TYPES[name.slice(dot + 1).toLowerCase()];
  return extra ?? (mime.lookup(name) || FALLBACK_TYPE);
}

/** The Content-Type value for a media type: text and JSON get `charset=utf-8`. */
export function toContentType(mediaType: string): string {
  return mime.contentType(mediaType) || mediaType;
}

/**
 * The category of a media type. Office formats count as documents, and
 * structured data (JSON, CSV, XML, YAML, Parquet) as data rather than text.
 * Returns null for types in no category (e.g. application/octet-stream).
 */
export function categoryOf(mediaType: string): FileCategory | null {
  const top = mediaType.slice(0, mediaType.indexOf('/'));
  // Media first: image/svg+xml is an image, not XML data.
  if (top === 'video' || top === 'audio' || top === 'image') return top;
  if (DOCUMENT_TYPES.has(mediaType) || mediaType.startsWith('application/vnd.openxmlformats-officedocument.')) return 'document';
  if (ARCHIVE_TYPES.has(mediaType)) return 'archive';
  if (DATA_TYPES.has(mediaType) || mediaType.endsWith('+json') || mediaType.endsWith('+xml')) return 'data';
  return top === 'text' ? 'text' : null;
}

/** True when a browser may show the type inline without running anything in it. */
export function isPassiveType(mediaType: string): boolean {
  if (ACTIVE_TYPES.has(mediaType)) return false;
  return PASSIVE_TYPES.has(mediaType) || PASSIVE_PREFIXES.some((prefix) => mediaType.startsWith(prefix));
}
