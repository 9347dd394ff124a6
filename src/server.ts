// Starts the HTTP server for an app, with timeouts against slow clients and a graceful drain.

import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { createApp, type FilegateApp } from './app.js';
import { answerClientError } from './http/client-error.js';
import { createMetricsListener } from './http/metrics.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import { Slots } from './slots.js';

export interface RunningServer {
  readonly app: FilegateApp;
  readonly server: http.Server;
  /** http://host:port of the listening socket. */
  readonly url: string;
  /**
   * Stops accepting connections, lets responses in flight (and package builds)
   * finish for up to `graceMs` (default `server.shutdownGrace`), then cuts the
   * rest. Resolves true when everything finished in time. Calling it again
   * returns the same drain.
   */
  close(graceMs?: number): Promise<boolean>;
  /** http://host:port of the `metrics.port` listener, or null when /metrics is on the main port. */
  readonly metricsUrl: string | null;
}

/** Creates the app and listens on `server.host`:`server.port` (port 0 picks a free one). */
export async function startServer(config: Config, deps: { logger: Logger }): Promise<RunningServer> {
  const app = await createApp(config, deps);
  const main = await openListener(config.server, app.koa.callback(), deps.logger);
  // Every listener the service opens goes in this list, so one drain stops them all.
  const listeners = [main];
  // metrics.port: /metrics on an internal listener of its own (the main port then answers 404 for it).
  if (config.metrics.port !== null) {
    const settings = { ...config.server, host: config.metrics.host ?? config.server.host, port: config.metrics.port };
    listeners.push(await openListener(settings, createMetricsListener(app.metrics), deps.logger));
  }
  let drained: Promise<boolean> | null = null;
  return {
    app,
    server: main.server,
    url: main.url,
    metricsUrl: listeners[1]?.url ?? null,
    close: (graceMs = config.server.shutdownGrace) => (drained ??= drain(app, listeners, graceMs, deps.logger)),
  };
}

type ServerSettings = Config['server'];

/** One listening HTTP server and the connections it holds. */
interface Listener {
  readonly server: http.Server;
  readonly url: string;
  readonly connections: ConnectionTracker;
  /** Closes the listening socket (new connections are refused); resolves once every connection has closed. */
  stopAccepting(): Promise<void>;
  /** Stops Node's timeout checks once no connection is left. */
  dispose(): void;
}

/** Creates an HTTP server with the configured timeouts for `handler` and listens on `host`:`port`. */
async function openListener(settings: ServerSettings, handler: http.RequestListener, logger: Logger): Promise<Listener> {
  const server = createHttpServer(settings, handler);
  const connections = new ConnectionTracker(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logAcceptFailures(server, logger);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    connections,
    stopAccepting: () => {
      // net.Server#close, not http.Server#close, which would also stop
      // Node's headersTimeout checks (a client dribbling headers would hold
      // the drain until the grace) and call closeIdleConnections, which
      // counts a response as done once end() is called, even with its bytes
      // still queued for a slow client (a small body sent with end(), an
      // answer pipelined behind a download), and would cut it.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      connections.startDraining();
      return closed;
    },
    // With no connection left, http.Server#close only clears Node's interval
    // that checks headersTimeout and requestTimeout (it holds the server).
    dispose: () => server.close(),
  };
}

/**
 * An http.Server whose timeouts bound what a slow or silent client can hold:
 * - `headersTimeout` from a request's first byte (on a new connection, from
 *   its accept) to the end of its headers, and `requestTimeout` to the end of
 *   its body (Node answers 408 and closes);
 * - `keepAliveTimeout` for a connection idle between requests;
 * - `idleTimeout` for a socket on which no byte moves either way, a request
 *   in progress or not. Node's default is none: a client that stops reading
 *   a download would hold its socket and the file's descriptor forever.
 */
function createHttpServer(settings: ServerSettings, handler: http.RequestListener): http.Server {
  const server = http.createServer(
    {
      headersTimeout: settings.headersTimeout,
      requestTimeout: settings.requestTimeout,
      keepAliveTimeout: settings.keepAliveTimeout,
      connectionsCheckingInterval: connectionsCheckingInterval(settings),
      // The app's Host check answers an HTTP/1.1 request without Host with the JSON 400 (src/http/host.ts).
      requireHostHeader: false,
    },
    handler,
  );
  // What the parser refuses (an unknown method, a malformed request line or header) gets the JSON error body too.
  server.on('clientError', answerClientError);
  // Without a 'timeout' listener Node destroys the socket when it fires. A
  // write completing counts as activity, so a slow reader that still reads
  // keeps its download. Between requests Node swaps in keepAliveTimeout (plus
  // one second) and puts this one back when the next request starts.
  server.setTimeout(settings.idleTimeout);
  return server;
}

/**
 * How often Node looks for connections past headersTimeout or
 * requestTimeout: a tenth of the smaller, between 100 ms and 1 s. Node looks
 * only every 30 s by default, so a 20 s headers timeout fired anywhere
 * between 20 and 50 s; this keeps a timeout within 10% (at most 1 s) of its
 * value, and the check, a walk over the open connections, cheap.
 */
function connectionsCheckingInterval(settings: ServerSettings): number {
  const timeouts = [settings.headersTimeout, settings.requestTimeout].filter((ms) => ms > 0);
  if (timeouts.length === 0) return 1000;
  return Math.min(1000, Math.max(100, Math.floor(Math.min(...timeouts) / 10)));
}

/**
 * After listening, the server's 'error' events are failed accepts: out of
 * descriptors, libuv closes the connections it cannot take (with a
 * descriptor it keeps in reserve) and reports an error when even that fails.
 * With no listener such an event would end the process; it is logged
 * instead, at most once a second, as it comes in bursts.
 */
function logAcceptFailures(server: http.Server, logger: Logger): void {
  let lastLogged = 0;
  server.on('error', (error: NodeJS.ErrnoException) => {
    const now = Date.now();
    if (now - lastLogged < 1000) return;
    lastLogged = now;
    logger.warn({ err: error, code: error.code }, 'a connection could not be accepted; clients may see resets until descriptors free up');
  });
}

interface ConnectionState {
  readonly socket: Socket;
  /** Responses started on the connection and not yet closed (more than one when requests are pipelined). */
  responses: number;
  /**
   * `bytesRead` when the connection last had no request left to read; -1
   * until its first request is read, so a new connection whose request may
   * still be on its way is never taken for idle (as in Node).
   */
  readMark: number;
}

/** The tracker's state of a connection, kept on its socket. */
const TRACKED = Symbol('filegate.server.connection');
interface Tracked {
  [TRACKED]?: ConnectionState;
}

/**
 * The connections of a server and the responses running on each, so a drain
 * can close each connection as soon as it is idle: no response running and
 * no byte of a new request received. A response counts until its 'close',
 * which comes once its last byte has been handed to the kernel.
 */
class ConnectionTracker {
  // In slots, not a Map keyed by socket: one entry in and out per connection (src/slots.ts says why).
  private readonly open = new Slots<ConnectionState>();
  private draining = false;

  constructor(server: http.Server) {
    server.on('connection', (socket: Socket) => {
      const state: ConnectionState = { socket, responses: 0, readMark: -1 };
      (socket as Tracked)[TRACKED] = state;
      const slot = this.open.add(state);
      socket.once('close', () => this.open.remove(slot));
    });
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      const socket = request.socket;
      const state = (socket as Tracked)[TRACKED];
      if (state === undefined) return;
      state.responses += 1;
      const mark = () => {
        state.readMark = socket.bytesRead;
      };
      mark();
      request.once('end', mark);
      response.once('close', () => {
        state.responses -= 1;
        if (this.draining) this.closeIfIdle(socket, state);
      });
    });
  }

  /** From now on every connection closes once idle; those idle now close at once. */
  startDraining(): void {
    this.draining = true;
    for (const state of this.open) this.closeIfIdle(state.socket, state);
  }

  /** Cuts every connection still open; returns how many there were. */
  cutAll(): number {
    const count = this.open.size;
    for (const state of [...this.open]) state.socket.destroy();
    return count;
  }

  private closeIfIdle(socket: Socket, state: ConnectionState): void {
    // Bytes read since the last request was read whole are the start of a
    // new one: that connection stays, and its response will carry
    // `Connection: close` (set by the app while draining).
    if (state.responses === 0 && socket.bytesRead === state.readMark) socket.destroy();
  }
}

/**
 * Marks the app as draining (readiness 503), stops accepting on every
 * listener, closes idle connections, and waits for responses in flight and
 * package builds, for up to `graceMs`; past it, cuts what still runs and
 * logs a warning. Resolves true when everything finished in time.
 */
async function drain(app: FilegateApp, listeners: readonly Listener[], graceMs: number, logger: Logger): Promise<boolean> {
  app.startDraining();
  const closed = Promise.all(listeners.map((listener) => listener.stopAccepting()));
  let buildsDone = false;
  const builds = app.packages.idle().then(() => {
    buildsDone = true;
  });
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  const late = await Promise.race([Promise.all([closed, builds]).then(() => false), graceOver]);
  clearTimeout(timer);
  app.stop();
  if (late) {
    const connections = listeners.reduce((sum, listener) => sum + listener.connections.cutAll(), 0);
    logger.warn({ graceMs, connections, packageBuildsUnfinished: !buildsDone }, 'shutdown grace is over; cut the transfers still running');
    await closed;
  }
  for (const listener of listeners) listener.dispose();
  return !late;
}
