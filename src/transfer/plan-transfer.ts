// Decides a file response: status, headers and body pieces, before anything is written.

import { fail } from '../errors.js';
import { isPassiveType, toContentType } from '../files/file-types.js';
import { bodyLength, type BodyPiece, type ByteRange, type FileStat } from '../layers/layer.js';
import { toContentDisposition, type DispositionType } from './content-disposition.js';
import { toContentSecurityPolicy } from './content-security-policy.js';
import { evaluatePreconditions, isRangeFresh, type ConditionalHeaders } from './preconditions.js';
import { decideRange } from './range.js';
import { toLastModified, toValidators } from './validators.js';

/** What the request asks of the transfer: method, disposition, Range and the conditional headers. */
export interface TransferRequest extends ConditionalHeaders {
  readonly method: string;
  /** What the client asked for; active types are sent as attachments whatever it asks. */
  readonly disposition: DispositionType;
  readonly range?: string | undefined;
}

export interface TransferFile {
  readonly stat: FileStat;
  /** The name the client will save the file under. */
  readonly filename: string;
  readonly mediaType: string;
}

export interface TransferOptions {
  readonly cacheControl: string;
  /** More ranges than this in one request are ignored (the whole file is sent). */
  readonly maxRanges: number;
  /** Makes a multipart boundary; called only for multipart answers. */
  readonly newBoundary: () => string;
}

/** What to write: the sender applies it without deciding anything. */
export interface TransferPlan {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body, in order; empty for no body (HEAD, 304). */
  readonly body: readonly BodyPiece[];
}

/**
 * Plans the response for a checked, open file, in the steps of Go's
 * `serveContent`: validators, preconditions (412 or 304), If-Range, Range
 * (416, one part or multipart/byteranges), then the headers. HEAD gets
 * exactly the status and headers GET would, and no body. Raises
 * PRECONDITION_FAILED and RANGE_NOT_SATISFIABLE.
 */
export function planTransfer(request: TransferRequest, file: TransferFile, options: TransferOptions): TransferPlan {
  const { size } = file.stat;
  const validators = toValidators(file.stat);
  const cacheHeaders = {
    ETag: validators.etag,
    'Last-Modified': toLastModified(file.stat),
    'Cache-Control': options.cacheControl,
  };

  // RFC 9110 §13.2.2: If-Match / If-Unmodified-Since, then If-None-Match / If-Modified-Since.
  const outcome = evaluatePreconditions(request, validators);
  if (outcome === 'precondition-failed') {
    fail('PRECONDITION_FAILED', `${JSON.stringify(file.filename)} has changed since the version your If-Match or If-Unmodified-Since names; fetch it again for its current ETag`);
  }
  // §15.4.5: a 304 carries the validators and caching headers a 200 would, and nothing about content.
  if (outcome === 'not-modified') return { status: 304, headers: cacheHeaders, body: [] };

  // §13.1.5: a stale or weak If-Range simply drops the Range.
  const decision = isRangeFresh(request.ifRange, validators) ? decideRange(request.range, size, options.maxRanges) : { kind: 'full' as const };
  if (decision.kind === 'unsatisfiable') {
    fail('RANGE_NOT_SATISFIABLE', `the requested range lies outside ${JSON.stringify(file.filename)}, which is ${size} bytes long`, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }

  const contentType = toContentType(file.mediaType);
  const disposition = request.disposition === 'inline' && isPassiveType(file.mediaType) ? 'inline' : 'attachment';
  const security = toContentSecurityPolicy(disposition, file.mediaType);
  const saved = toContentDisposition(disposition, file.filename);
  // Every file response with a body carries these (SPEC, Transfer semantics), built as one object: this runs on every download.
  const withBody = (status: number, type: string, length: number, range: string | null, body: BodyPiece[]): TransferPlan => {
    const headers: Record<string, string> = {
      'Content-Description': 'File Transfer',
      'Content-Transfer-Encoding': 'binary',
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': security,
      'Content-Disposition': saved,
      ETag: cacheHeaders.ETag,
      'Last-Modified': cacheHeaders['Last-Modified'],
      'Cache-Control': cacheHeaders['Cache-Control'],
      'Content-Type': type,
      'Content-Length': String(length),
    };
    if (range !== null) headers['Content-Range'] = range;
    return { status, headers, body: request.method === 'HEAD' ? [] : body };
  };

  if (decision.kind === 'full') return withBody(200, contentType, size, null, size === 0 ? [] : [{ start: 0, end: size - 1 }]);
  const [only] = decision.ranges;
  if (decision.ranges.length === 1 && only !== undefined) {
    return withBody(206, contentType, only.end - only.start + 1, contentRange(only, size), [only]);
  }
  const boundary = options.newBoundary();
  const body = multipartBody(decision.ranges, size, contentType, boundary);
  return withBody(206, `multipart/byteranges; boundary=${boundary}`, bodyLength(body), null, body);
}


function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * The pieces of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046
 * §5.1.1): each part's headers as bytes, then its range of the file, then
 * the closing delimiter. Nothing of the file is held in memory.
 */
function multipartBody(ranges: readonly ByteRange[], size: number, contentType: string, boundary: string): BodyPiece[] {
  const pieces: BodyPiece[] = [];
  ranges.forEach((range, index) => {
    const head = `${index === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`;
    pieces.push(Buffer.from(head, 'latin1'), range);
  });
  pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  return pieces;
}
