// Talks to one bucket of an S3-compatible engine: signed requests (aws4, SigV4) over a bounded keep-alive agent, keys sent byte for byte.

import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import aws4 from 'aws4';
import { engineBodyCollector } from './engine-body-collector.js';
import { EngineError, isRetryable, toEngineErrorKind, type EngineErrorDetails } from './engine-error.js';
import { completionBody, parseErrorBody, parseListPage, parseUploadId, type ListPage } from './engine-xml.js';
import { checkObjectKey, encodeKeyPath, encodeQueryValue } from './object-key.js';

export interface EngineCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface EngineClientOptions {
  /** `http://host:port` or `https://host`; any path or user info in it is ignored. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** true: `/bucket/key` on the endpoint's host; false: `bucket.host/key`. */
  readonly forcePathStyle: boolean;
  readonly credentials: EngineCredentials;
  /** Sockets kept to the engine at most (default 64); idle ones are reused, and closed after 30 s. */
  readonly maxSockets?: number;
  /** How often a GET, HEAD or LIST is sent again after a retryable failure (default 2). */
  readonly retries?: number;
  /** Milliseconds to wait for the answer's headers before giving up (default 10 s). */
  readonly headersTimeoutMs?: number;
}

/** What a HEAD (or a GET's headers) says about an object. */
export interface ObjectHead {
  /** The whole object's size in bytes. */
  readonly size: number;
  /** The engine's ETag, quoted, as the engine sent it. */
  readonly etag: string;
  /** Upload time in ms since the epoch (whole seconds: it comes from Last-Modified). */
  readonly lastModifiedMs: number;
  readonly contentType: string | undefined;
}

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export interface EngineRange {
  readonly start: number;
  readonly end: number;
}

export interface GetOptions {
  /** One range; the engine answers 206 with it (an engine serves one range per GET). */
  readonly range?: EngineRange;
  /** The ETag the checks saw: a replaced object answers `precondition-failed` instead of other bytes. */
  readonly ifMatch?: string;
}

/** An object's body on its way: the caller must read `body` to the end or destroy it. */
export interface GetResult extends ObjectHead {
  /** 200 (whole object) or 206 (the range asked for). */
  readonly status: number;
  /** Bytes `body` carries. */
  readonly length: number;
  readonly body: Readable;
}

export interface ListOptions {
  /** Roll keys up to the first delimiter after the prefix into `prefixes` (usually "/"). */
  readonly delimiter?: string;
  /** List keys after this one (the previous page's `nextStartAfter`). */
  readonly startAfter?: string;
  /** At most this many keys and prefixes together (engine default and cap: 1000). */
  readonly maxKeys?: number;
}

export interface PutOptions {
  /** "*": store only when no object has the key (exactly one of several racing writers wins). */
  readonly ifNoneMatch?: '*';
  /** Store only when the current object has this ETag (quoted or not). */
  readonly ifMatch?: string;
  readonly contentType?: string;
}

/** One part of a multipart upload, as its completion lists it. */
export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** One bucket of an engine; every method raises `EngineError` on failure. */
export interface EngineClient {
  readonly bucket: string;
  /** The object's size, ETag and time; `not-found` when there is none. */
  head(key: string): Promise<ObjectHead>;
  /** The object's bytes (or one range), pinned to `ifMatch` when given. */
  get(key: string, options?: GetOptions): Promise<GetResult>;
  /** One page of the keys starting with `prefix`, in the engine's (UTF-8 byte) order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Stores a small body whole; resolves with the new ETag. */
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<{ etag: string }>;
  /** Removes the object; removing a missing one succeeds. */
  delete(key: string): Promise<void>;
  /** Starts a multipart upload to `key`; resolves with its upload id. Nothing is visible at `key` until it completes. */
  createMultipartUpload(key: string, options?: { contentType?: string }): Promise<string>;
  /** Stores part `partNumber` (1-10,000; every part but the last at least 5 MiB) of an upload. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart>;
  /** Joins the parts into the object at `key`, which appears whole at once. */
  completeMultipartUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void>;
  /** Drops an upload and the parts stored so far; an upload already gone succeeds. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /** Creates the bucket itself (tests, benches and set-up scripts); an existing bucket of ours succeeds. */
  createBucket(): Promise<void>;
  /** Closes the idle sockets; requests in flight finish. */
  close(): void;
}

type Operation = EngineErrorDetails['operation'];

interface EngineRequest {
  readonly operation: Operation;
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  readonly key?: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

// An error body is small; a larger one is cut, never buffered whole.
const MAX_ERROR_BODY = 16 * 1024;
const MAX_LIST_BODY = 8 * 1024 * 1024;
const RETRY_BASE_MS = 25;

/**
 * A client for `options.bucket`. Keys are sent exactly as given (see
 * `encodeKeyPath`); a key over 1024 bytes raises BAD_REQUEST before any
 * request. GET, HEAD and LIST are sent again, after a jittered pause, on a
 * connection failure, a 5xx or SlowDown, but never once a body has been
 * handed to the caller; PUT and DELETE are sent once.
 */
export function createEngineClient(options: EngineClientOptions): EngineClient {
  const endpoint = new URL(options.endpoint);
  const secure = endpoint.protocol === 'https:';
  const port = Number(endpoint.port || (secure ? 443 : 80));
  const hostname = options.forcePathStyle ? endpoint.hostname : `${options.bucket}.${endpoint.hostname}`;
  const host = endpoint.port ? `${hostname}:${endpoint.port}` : hostname;
  const basePath = options.forcePathStyle ? `/${encodeKeyPath(options.bucket)}` : '';
  const retries = options.retries ?? 2;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  // LIFO keeps the fewest sockets warm; `timeout` closes idle ones before the
  // engine does (radosgw's beast: 65 s), so a reused socket is rarely a dead one.
  // Every socket may stay idle: with fewer kept than used, a busy service
  // opened a new connection for about one download in five (measured: 1,180
  // connections for 5,500 small downloads with 16 kept of 64, 65-93 with 64).
  const maxSockets = options.maxSockets ?? 64;
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const, timeout: 30_000 };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  // Copied, so a caller's object is never kept or logged with the client.
  const credentials = { accessKeyId: options.credentials.accessKeyId, secretAccessKey: options.credentials.secretAccessKey };

  function requestPath(request: EngineRequest): string {
    let path = request.key === undefined ? (basePath || '/') : `${basePath}/${encodeKeyPath(request.key)}`;
    const query = Object.entries(request.query ?? {});
    if (query.length > 0) {
      path += `?${query.map(([name, value]) => `${encodeQueryValue(name)}=${encodeQueryValue(value)}`).join('&')}`;
    }
    return path;
  }

  /** Sends one request; resolves with the answer once its headers arrive, whatever its status. */
  function send(request: EngineRequest): Promise<IncomingMessage> {
    const headers: Record<string, string> = { ...request.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    // aws4 signs the path as given; for service s3 it neither collapses dot
    // segments nor double-encodes, so the signed path is the sent path.
    const signed = aws4.sign({ host, path: requestPath(request), method: request.method, service: 's3', region: options.region, headers }, credentials);
    const details: EngineErrorDetails = { operation: request.operation, ...(request.key === undefined ? {} : { key: request.key }) };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request({
        hostname, port, method: request.method, path: signed.path, headers: signed.headers as http.OutgoingHttpHeaders, agent,
      }, (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.setTimeout(headersTimeoutMs, () => req.destroy(new Error(`no answer within ${headersTimeoutMs} ms`)));
      req.on('error', (cause: Error) => {
        const reason = 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
        reject(new EngineError('unavailable', { ...details, cause }, `failed: ${reason}`));
      });
      req.end(request.body);
    });
  }

  /** Reads an error answer's body (bounded) and turns it into an EngineError. */
  async function toError(request: EngineRequest, res: IncomingMessage): Promise<EngineError> {
    const body = await readBody(res, MAX_ERROR_BODY, true).catch(() => Buffer.alloc(0));
    let { code } = parseErrorBody(body.toString('utf8'));
    const status = res.statusCode ?? 0;
    // A HEAD answer has no body, so 404 cannot tell NoSuchKey from NoSuchBucket,
    // nor 403 AccessDenied from bad credentials: ask the same thing with a GET.
    if (code === undefined && request.method === 'HEAD' && (status === 403 || status === 404)) {
      code = await explainHeadFailure(request);
    }
    const retryAfter = Number(res.headers['retry-after']);
    const kind = toEngineErrorKind(status, code);
    return new EngineError(kind, {
      operation: request.operation,
      ...(request.key === undefined ? {} : { key: request.key }),
      status,
      ...(code === undefined ? {} : { engineCode: code }),
      ...(kind === 'slow-down' ? { retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1 } : {}),
    });
  }

  async function explainHeadFailure(request: EngineRequest): Promise<string | undefined> {
    try {
      const res = await send({ ...request, method: 'GET', headers: { range: 'bytes=0-0' } });
      const body = await readBody(res, MAX_ERROR_BODY, true);
      return (res.statusCode ?? 0) >= 300 ? parseErrorBody(body.toString('utf8')).code : undefined;
    } catch {
      return undefined;
    }
  }

  /** Sends a request until it gets a 2xx answer, retrying reads as the contract says; raises EngineError otherwise. */
  async function exchange(request: EngineRequest): Promise<IncomingMessage> {
    const idempotent = request.method === 'GET' || request.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      let error: EngineError;
      try {
        const res = await send(request);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return res;
        error = await toError(request, res);
      } catch (thrown) {
        if (!(thrown instanceof EngineError)) throw thrown;
        error = thrown;
      }
      if (!idempotent || attempt >= retries || !isRetryable(error)) throw error;
      // "Full jitter": a random pause up to an exponentially growing cap, so
      // replicas that failed together do not come back together.
      await sleep(Math.random() * RETRY_BASE_MS * 2 ** attempt);
    }
  }

  return {
    bucket: options.bucket,

    async head(key) {
      checkObjectKey(key);
      const res = await exchange({ operation: 'HEAD', method: 'HEAD', key });
      res.resume();
      return toObjectHead(res.headers, undefined);
    },

    async get(key, getOptions = {}) {
      checkObjectKey(key);
      const headers: Record<string, string> = {};
      if (getOptions.range) headers.range = `bytes=${getOptions.range.start}-${getOptions.range.end}`;
      if (getOptions.ifMatch !== undefined) headers['if-match'] = getOptions.ifMatch;
      const res = await exchange({ operation: 'GET', method: 'GET', key, headers });
      releaseSocketReads(res);
      const contentRange = res.headers['content-range'];
      return {
        ...toObjectHead(res.headers, contentRange),
        status: res.statusCode ?? 0,
        length: Number(res.headers['content-length'] ?? NaN),
        body: res,
      };
    },

    async list(prefix, listOptions = {}) {
      const query: Record<string, string> = { 'list-type': '2', 'encoding-type': 'url', prefix };
      if (listOptions.delimiter !== undefined) query.delimiter = listOptions.delimiter;
      if (listOptions.startAfter !== undefined) query['start-after'] = listOptions.startAfter;
      if (listOptions.maxKeys !== undefined) query['max-keys'] = String(listOptions.maxKeys);
      // The body is read whole inside the retry loop: nothing is handed on before it parses.
      for (let attempt = 0; ; attempt++) {
        const res = await exchange({ operation: 'LIST', method: 'GET', query });
        try {
          const page = parseListPage((await readBody(res, MAX_LIST_BODY, false)).toString('utf8'));
          // radosgw and S3 skip a common prefix given as start-after; drop it should one come back.
          return listOptions.startAfter === undefined
            ? page
            : { ...page, prefixes: page.prefixes.filter((p) => p !== listOptions.startAfter) };
        } catch (cause) {
          if (attempt >= retries) {
            throw new EngineError('other', { operation: 'LIST', key: prefix, cause }, 'answered with an unreadable listing');
          }
        }
      }
    },

    async put(key, body, putOptions = {}) {
      checkObjectKey(key);
      const headers: Record<string, string> = {};
      if (putOptions.ifNoneMatch !== undefined) headers['if-none-match'] = putOptions.ifNoneMatch;
      // radosgw compares If-Match on PUT with the bare ETag: a quoted one never matches.
      if (putOptions.ifMatch !== undefined) headers['if-match'] = putOptions.ifMatch.replace(/^"(.*)"$/, '$1');
      if (putOptions.contentType !== undefined) headers['content-type'] = putOptions.contentType;
      const res = await exchange({ operation: 'PUT', method: 'PUT', key, headers, body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') });
      res.resume();
      return { etag: String(res.headers.etag ?? '') };
    },

    async delete(key) {
      checkObjectKey(key);
      (await exchange({ operation: 'DELETE', method: 'DELETE', key })).resume();
    },

    async createMultipartUpload(key, uploadOptions = {}) {
      checkObjectKey(key);
      const headers: Record<string, string> = uploadOptions.contentType === undefined ? {} : { 'content-type': uploadOptions.contentType };
      const res = await exchange({ operation: 'CREATE-UPLOAD', method: 'POST', key, query: { uploads: '' }, headers, body: Buffer.alloc(0) });
      const uploadId = parseUploadId((await readBody(res, MAX_ERROR_BODY, false)).toString('utf8'));
      if (uploadId === undefined) throw new EngineError('other', { operation: 'CREATE-UPLOAD', key }, 'answered without an upload id');
      return uploadId;
    },

    async uploadPart(key, uploadId, partNumber, body) {
      checkObjectKey(key);
      const res = await exchange({ operation: 'UPLOAD-PART', method: 'PUT', key, query: { partNumber: String(partNumber), uploadId }, body });
      res.resume();
      return { partNumber, etag: String(res.headers.etag ?? '') };
    },

    async completeMultipartUpload(key, uploadId, parts) {
      checkObjectKey(key);
      const body = Buffer.from(completionBody(parts), 'utf8');
      const res = await exchange({ operation: 'COMPLETE-UPLOAD', method: 'POST', key, query: { uploadId }, headers: { 'content-type': 'application/xml' }, body });
      // S3 may answer 200 and still fail: the error then comes in the body.
      const answer = (await readBody(res, MAX_ERROR_BODY, true)).toString('utf8');
      const { code } = parseErrorBody(answer);
      if (code !== undefined) {
        throw new EngineError(toEngineErrorKind(500, code), { operation: 'COMPLETE-UPLOAD', key, status: res.statusCode ?? 200, engineCode: code });
      }
    },

    async abortMultipartUpload(key, uploadId) {
      checkObjectKey(key);
      try {
        (await exchange({ operation: 'ABORT-UPLOAD', method: 'DELETE', key, query: { uploadId } })).resume();
      } catch (error) {
        if (!(error instanceof EngineError && error.engineCode === 'NoSuchUpload')) throw error;
      }
    },

    async createBucket() {
      try {
        (await exchange({ operation: 'CREATE-BUCKET', method: 'PUT' })).resume();
      } catch (error) {
        if (!(error instanceof EngineError && error.engineCode === 'BucketAlreadyOwnedByYou')) throw error;
      }
    },

    close() {
      agent.destroy();
    },
  };
}

/** The object's size (the whole object's, also for a 206), ETag, time and type, from an answer's headers. */
function toObjectHead(headers: IncomingHttpHeaders, contentRange: string | undefined): ObjectHead {
  // "bytes 0-3/36": the size is after the slash.
  const total = contentRange === undefined ? headers['content-length'] : contentRange.slice(contentRange.lastIndexOf('/') + 1);
  return {
    size: Number(total ?? NaN),
    etag: String(headers.etag ?? ''),
    lastModifiedMs: Date.parse(String(headers['last-modified'] ?? '')),
    contentType: headers['content-type'],
  };
}

/**
 * Frees each socket read of `res`'s body once node:http's parser has copied
 * its bytes out (the parser's listener comes first, so it has run when ours
 * does), until the body ends or is given up. The read the headers came in is
 * parsed before this can listen, and is left to V8 (at most 64 KiB). See
 * `releaseBuffer` for why this matters on long streams.
 */
function releaseSocketReads(res: IncomingMessage): void {
  const { socket } = res;
  if (socket === null || res.complete) return;
  const release = (read: unknown) => {
    if (Buffer.isBuffer(read)) engineBodyCollector.release(read);
  };
  const stop = () => socket.off('data', release);
  socket.on('data', release);
  res.once('end', stop);
  res.once('close', stop);
}

/** Reads a body whole up to `limit` bytes; over it, either cuts (`cut`) or fails. */
async function readBody(res: IncomingMessage, limit: number, cut: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) {
      res.destroy();
      if (cut) break;
      throw new Error(`an answer over ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
