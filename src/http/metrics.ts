// The Prometheus figures of one app: a registry of its own, the recording functions the app calls, and the listener that serves them.

import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Context } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ArchiveFormat } from '../archives/send-archive.js';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import type { DeliveryOutcome } from '../transfer/delivery.js';
import type { TransferRecord } from '../transfer/send-transfer.js';
import { Slots } from '../slots.js';

/** What became of one response, as the access line tells it. */
export interface ResponseFigures {
  readonly method: string;
  /** The router's route pattern (`/api/packages/:id`), null when no route matched. */
  readonly route: string | null;
  readonly status: number;
  /** Body bytes handed to the response. */
  readonly bytes: number;
  readonly seconds: number;
  /** True when the response closed before its body was complete. */
  readonly aborted: boolean;
  /** How a file response's body went; absent for other responses. */
  readonly delivery?: DeliveryOutcome;
  /** Body bytes handed to nginx or the object store to send, for a hand-off. */
  readonly offloadedBytes?: number;
}

/** What became of one archive sent as a response. */
export interface ArchiveFigures {
  readonly written: number;
  readonly skipped: number;
  readonly completed: boolean;
}

export type PackageBuildOutcome = 'ready' | 'failed';

export interface Metrics {
  /** The app's own registry: default process metrics and filegate's figures. */
  readonly registry: Registry;
  /** Counts a response as open until it is closed; while open it is a transfer in flight if it has a transfer record and its body is not all written. */
  responseOpened(ctx: Context): void;
  /** Records a response that has closed. */
  responseClosed(ctx: Context, figures: ResponseFigures): void;
  /** Records an archive response once its output has finished or failed. */
  archiveSent(format: ArchiveFormat, figures: ArchiveFigures): void;
  packageBuilt(outcome: PackageBuildOutcome): void;
  /** The package builds this replica holds now: queued, and running. */
  packageBuildsHeld(pending: number, running: number): void;
}

// The route label of a request no route matched: raw paths would make the label unbounded.
const UNMATCHED = 'unmatched';

// Requests range from sub-millisecond answers to downloads of many minutes.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

let processRegistry: Registry | undefined;

/**
 * The default process metrics, collected once per process. Their collectors
 * start an event-loop delay monitor and a GC observer that can never be
 * stopped, so one set is shared by every app's registry instead of one set
 * per app (tests create hundreds of apps). Neither keeps the process alive.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Where a response sits in its app's open responses, kept on the response's state. */
const OPEN_SLOT = Symbol('filegate.metrics.openSlot');
interface OpenSlot {
  [OPEN_SLOT]?: number;
}

/** The per-label-set children of the response metrics, made once per combination seen. */
interface ResponseSeries {
  readonly requests: Counter.Internal;
  readonly duration: Histogram.Internal<string>;
  readonly bytes: Counter.Internal;
  readonly aborted: Counter.Internal;
}

/** Creates the metrics of one app, in a registry of its own (never prom-client's global one). */
export function createMetrics(): Metrics {
  const own = new Registry();
  const registers = [own];
  // The responses open now, for the in-flight gauge: in slots, not a Set (src/slots.ts says why).
  const open = new Slots<Context>();

  const requests = new Counter({
    name: 'filegate_http_requests_total',
    help: 'Responses by method, route pattern ("unmatched" when no route matched) and status, counted when they close.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'filegate_http_request_duration_seconds',
    help: 'Time from a request\'s arrival to its response\'s close, body included, by route pattern.',
    labelNames: ['route'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const bytes = new Counter({
    name: 'filegate_http_response_body_bytes_total',
    help: 'Response body bytes handed to clients, by route pattern.',
    labelNames: ['route'],
    registers,
  });
  const aborted = new Counter({
    name: 'filegate_http_responses_aborted_total',
    help: 'Responses closed before their body was complete (the client left, or a read failed mid-body), by route pattern.',
    labelNames: ['route'],
    registers,
  });
  // Read at scrape time from the open responses: nothing to report when a body starts or ends.
  new Gauge({
    name: 'filegate_transfers_in_flight',
    help: 'Downloads and archives sending a body now.',
    registers,
    collect() {
      let sending = 0;
      for (const ctx of open) if (isSendingBody(ctx)) sending += 1;
      this.set(sending);
    },
  });
  const archives = new Counter({
    name: 'filegate_archives_total',
    help: 'Archives sent as responses, by format and outcome (aborted: cut before the end).',
    labelNames: ['format', 'outcome'],
    registers,
  });
  const archiveEntries = new Counter({
    name: 'filegate_archive_entries_written_total',
    help: 'Entries written into archives sent as responses, by format.',
    labelNames: ['format'],
    registers,
  });
  const archiveSkipped = new Counter({
    name: 'filegate_archive_entries_skipped_total',
    help: 'Entries left out of archives sent as responses (hidden, refused, or gone), by format.',
    labelNames: ['format'],
    registers,
  });
  const handOffs = new Counter({
    name: 'filegate_offloaded_responses_total',
    help: 'File responses whose body filegate handed off instead of sending it: to the object store (redirected) or to nginx (x-accel).',
    labelNames: ['delivery'],
    registers,
  });
  const handOffBytes = new Counter({
    name: 'filegate_offloaded_body_bytes_total',
    help: 'Body bytes of handed-off file responses, as planned (the object store or nginx sends them), by delivery.',
    labelNames: ['delivery'],
    registers,
  });
  const packageBuilds = new Counter({
    name: 'filegate_package_builds_total',
    help: 'Package builds finished by this replica, by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  const packagesHeld = new Gauge({
    name: 'filegate_package_builds_held',
    help: 'Package builds this replica holds now, by status: pending (queued) or running.',
    labelNames: ['status'],
    registers,
  });

  // Known label sets start at zero, so a rate is defined before the first event.
  for (const format of ['zip', 'tar.gz'] satisfies ArchiveFormat[]) {
    for (const outcome of ['completed', 'aborted']) archives.labels(format, outcome).inc(0);
    archiveEntries.labels(format).inc(0);
    archiveSkipped.labels(format).inc(0);
  }
  for (const outcome of ['ready', 'failed'] satisfies PackageBuildOutcome[]) packageBuilds.labels(outcome).inc(0);
  for (const delivery of ['redirected', 'x-accel'] satisfies DeliveryOutcome[]) {
    handOffs.labels(delivery).inc(0);
    handOffBytes.labels(delivery).inc(0);
  }
  packagesHeld.labels('pending').set(0);
  packagesHeld.labels('running').set(0);

  const series = new Map<string, ResponseSeries>();
  const seriesOf = (method: string, route: string, status: string): ResponseSeries => {
    const key = `${method} ${status} ${route}`;
    let found = series.get(key);
    if (found === undefined) {
      found = { requests: requests.labels(method, route, status), duration: duration.labels(route), bytes: bytes.labels(route), aborted: aborted.labels(route) };
      series.set(key, found);
    }
    return found;
  };

  return {
    registry: Registry.merge([own, processMetrics()]),
    responseOpened(ctx) {
      (ctx.state as OpenSlot)[OPEN_SLOT] = open.add(ctx);
    },
    responseClosed(ctx, figures) {
      const state = ctx.state as OpenSlot;
      if (state[OPEN_SLOT] !== undefined) open.remove(state[OPEN_SLOT]);
      state[OPEN_SLOT] = undefined;
      const found = seriesOf(figures.method, figures.route ?? UNMATCHED, String(figures.status));
      found.requests.inc();
      found.duration.observe(figures.seconds);
      if (figures.bytes > 0) found.bytes.inc(figures.bytes);
      if (figures.aborted) found.aborted.inc();
      if (figures.delivery !== undefined && figures.delivery !== 'proxy') {
        handOffs.labels(figures.delivery).inc();
        handOffBytes.labels(figures.delivery).inc(figures.offloadedBytes ?? 0);
      }
    },
    archiveSent(format, figures) {
      archives.labels(format, figures.completed ? 'completed' : 'aborted').inc();
      archiveEntries.labels(format).inc(figures.written);
      archiveSkipped.labels(format).inc(figures.skipped);
    },
    packageBuilt(outcome) {
      packageBuilds.labels(outcome).inc();
    },
    packageBuildsHeld(pending, running) {
      packagesHeld.labels('pending').set(pending);
      packagesHeld.labels('running').set(running);
    },
  };
}

/** A response whose handler has started a body (a transfer record) that is not all written yet. */
function isSendingBody(ctx: Context): boolean {
  return (ctx.state as { transfer?: TransferRecord }).transfer !== undefined && !ctx.res.writableEnded;
}

/** The app's metrics, as the observe middleware leaves them for handlers that report figures of their own. */
export function metricsOf(ctx: Context): Metrics | undefined {
  return (ctx.state as { metrics?: Metrics }).metrics;
}

/** The registry's exposition in the Prometheus text format, with the headers it is served with. */
export async function collectExposition(metrics: Metrics): Promise<{ headers: Record<string, string>; text: string }> {
  const text = await metrics.registry.metrics();
  return { headers: { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }, text };
}

/**
 * The request listener of the separate metrics port (`metrics.port`):
 * GET and HEAD /metrics answer the exposition, another method on it 405
 * `METHOD_NOT_ALLOWED` with `Allow` (as the main app would), any other path
 * 404 `NOT_FOUND`; errors are the usual `{"error", "code"}` JSON.
 */
export function createMetricsListener(metrics: Metrics): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') {
      sendError(res, 'NOT_FOUND', 'no such route: this port serves GET /metrics only');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 'METHOD_NOT_ALLOWED', `${req.method ?? 'this method'} is not served on /metrics`, { Allow: 'GET, HEAD' });
      return;
    }
    collectExposition(metrics).then(
      ({ headers, text }) => {
        res.writeHead(200, { ...headers, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => sendError(res, 'INTERNAL', 'the metrics could not be collected'),
    );
  };
}

function sendError(res: http.ServerResponse, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: message, code });
  res.writeHead(ERROR_STATUS[code], {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Request-Id': randomUUID(),
  });
  res.end(body);
}
