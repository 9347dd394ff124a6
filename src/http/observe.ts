// The outermost middleware: request ids, the one error renderer, and one access log line and one metrics record per request.

import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { FilegateError, isFilegateError, type ErrorCode } from '../errors.js';
import { escapeControl, redactUrl, type Logger } from '../logger.js';
import type { Principal } from '../auth/principal.js';
import { countBodyBytes } from './body-bytes.js';
import { stampEveryHead } from './every-head.js';
import type { Metrics, ResponseFigures } from './metrics.js';
import type { DeliveryRecord } from '../transfer/send-transfer.js';

// An incoming id is kept when it is short and plain; anything else is replaced.
const REQUEST_ID = /^[A-Za-z0-9._:@\/+=-]{1,128}$/;

/** The state the access line is read from. */
interface ObservedState extends DeliveryRecord {
  requestId: string;
  principal?: Principal;
  layer?: string;
  errorCode?: ErrorCode;
  /** For handlers that report figures of their own (archives). */
  metrics?: Metrics;
}

// Errors that Koa and its middleware raise with a bare status.
const STATUS_CODES: Record<number, ErrorCode> = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED' };

/**
 * Gives every response an `X-Request-Id`, renders every failure as
 * `{"error", "code"}`, and when the response closes, including transfers
 * that outlive the middleware chain, logs one access line and records the
 * same figures in `metrics`.
 */
export function createObserve(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const state = ctx.state as ObservedState;
    state.requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // On every response, whoever answers it (OPTIONS, 404, a transfer): its id, and no body is ever to be sniffed.
    stampEveryHead(ctx.res, state.requestId);
    state.metrics = metrics;
    metrics.responseOpened(ctx);
    const bodyBytes = countBodyBytes(ctx.res);
    ctx.res.once('close', () => recordResponse(logger, metrics, ctx, started, bodyBytes()));
    try {
      await next();
    } catch (error) {
      renderError(ctx, error, logger);
    }
  };
}

/** Turns any thrown value into the JSON error response, or cuts a response whose headers are already out. */
export function renderError(ctx: Context, thrown: unknown, logger: Logger): void {
  const error = toFilegateError(thrown);
  const state = ctx.state as ObservedState;
  state.errorCode = error.code;
  if (error.code === 'INTERNAL') logger.error({ reqId: state.requestId, err: thrown }, 'request failed');
  if (ctx.headerSent || !ctx.writable) {
    ctx.res.destroy();
    return;
  }
  // The failed response's own headers go; those that belong to every response
  // (CORS so a browser page can read the error, and a draining server's
  // Connection: close) stay, and its id and nosniff come with the head.
  for (const name of ctx.res.getHeaderNames()) if (!isKeptOnError(name)) ctx.res.removeHeader(name);
  ctx.respond = true;
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) {
    try {
      ctx.set(name, value);
    } catch (invalid) {
      // A header value Node refuses must not turn the answer into a bare 500.
      logger.error({ reqId: state.requestId, err: invalid, header: name }, 'error header dropped');
    }
  }
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: error.message, code: error.code };
}

function toFilegateError(thrown: unknown): FilegateError {
  if (isFilegateError(thrown)) return thrown;
  const status = (thrown as { status?: unknown; expose?: unknown } | null)?.status;
  const code = typeof status === 'number' ? STATUS_CODES[status] : undefined;
  if (code) return new FilegateError(code, code === 'NOT_FOUND' ? 'no such route' : 'the request is malformed', { cause: thrown });
  // Out of descriptors anywhere (a manifest write, a temp file): a passing state, as the layers report it.
  const errno = (thrown as NodeJS.ErrnoException | null)?.code;
  if (errno === 'EMFILE' || errno === 'ENFILE') {
    return new FilegateError('UNAVAILABLE', 'the service is out of file descriptors right now; retry in a second', { headers: { 'Retry-After': '1' }, cause: thrown });
  }
  return new FilegateError('INTERNAL', 'an internal error occurred; quote the X-Request-Id when reporting it', { cause: thrown });
}

function recordResponse(logger: Logger, metrics: Metrics, ctx: Context, started: bigint, bodyBytes: number): void {
  const state = ctx.state as ObservedState;
  const { res } = ctx;
  const finished = res.writableFinished;
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const figures: ResponseFigures = {
    method: ctx.method,
    route: (ctx as { _matchedRoute?: string })._matchedRoute ?? null,
    status: res.statusCode,
    // What the body writes were handed, whoever wrote them (a streamed archive has no Content-Length); HEAD sends none.
    bytes: ctx.method === 'HEAD' ? 0 : bodyBytes,
    seconds: elapsedNs / 1e9,
    aborted: !finished,
    delivery: state.delivery,
    offloadedBytes: state.offloadedBytes,
  };
  metrics.responseClosed(ctx, figures);
  if (!logger.isLevelEnabled('info')) return;
  const subject = state.principal?.subject;
  // One object of one shape, its optional fields added at the end: this runs for every response.
  const line: Record<string, unknown> = {
    reqId: state.requestId,
    method: figures.method,
    route: figures.route,
    url: escapeControl(redactUrl(ctx.originalUrl)),
    status: figures.status,
    bytes: figures.bytes,
    durationMs: elapsedNs / 1e6,
    subject: subject == null ? null : escapeControl(subject),
    layer: state.layer ?? null,
  };
  // How a file response's body went: sent by filegate, or handed to the object store or nginx (which send `offloadedBytes`).
  if (figures.delivery !== undefined) line.delivery = figures.delivery;
  if (figures.offloadedBytes !== undefined) line.offloadedBytes = figures.offloadedBytes;
  if (state.errorCode) line.code = state.errorCode;
  if (figures.aborted) line.aborted = true;
  logger.info(line, 'request');
}

function isKeptOnError(name: string): boolean {
  return name === 'vary' || name === 'connection' || name.startsWith('access-control-');
}
