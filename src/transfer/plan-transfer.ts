// Decides a file response: status, headers and byte ranges, before anything is written.

import { isPassiveType, toContentType } from '../files/file-types.js';
import type { FileStat } from '../layers/layer.js';
import { toContentDisposition, type DispositionType } from './content-disposition.js';
import { toEntityTag, toLastModified } from './validators.js';

/** An inclusive byte range of the file. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface TransferRequest {
  readonly method: string;
  /** What the client asked for; active types are sent as attachments whatever it asks. */
  readonly disposition: DispositionType;
}

export interface TransferFile {
  readonly stat: FileStat;
  /** The name the client will save the file under. */
  readonly filename: string;
  readonly mediaType: string;
}

export interface TransferOptions {
  readonly cacheControl: string;
}

/** What to write: the sender applies it without deciding anything. */
export interface TransferPlan {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The parts of the file that make the body, in order; empty for no body (HEAD). */
  readonly ranges: readonly ByteRange[];
}

// Every file response carries these (SPEC, Transfer semantics).
const FIXED_HEADERS = {
  'Content-Description': 'File Transfer',
  'Content-Transfer-Encoding': 'binary',
  'Accept-Ranges': 'bytes',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
} as const;

/** Plans the response for a checked, open file. */
export function planTransfer(request: TransferRequest, file: TransferFile, options: TransferOptions): TransferPlan {
  const { size } = file.stat;
  const disposition = request.disposition === 'inline' && isPassiveType(file.mediaType) ? 'inline' : 'attachment';
  const headers = {
    ...FIXED_HEADERS,
    'Content-Type': toContentType(file.mediaType),
    'Content-Length': String(size),
    'Content-Disposition': toContentDisposition(disposition, file.filename),
    ETag: toEntityTag(file.stat),
    'Last-Modified': toLastModified(file.stat),
    'Cache-Control': options.cacheControl,
  };
  const ranges = request.method === 'HEAD' || size === 0 ? [] : [{ start: 0, end: size - 1 }];
  return { status: 200, headers, ranges };
}
