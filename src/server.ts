// Starts the HTTP server for an app, with timeouts against slow clients and a graceful drain.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type FilegateApp } from './app.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';

export interface RunningServer {
  readonly app: FilegateApp;
  readonly server: http.Server;
  /** http://host:port of the listening socket. */
  readonly url: string;
  /**
   * Stops accepting connections, lets responses in flight finish for up to
   * `graceMs` (default `server.shutdownGrace`), then cuts the rest.
   * Resolves true when everything finished in time.
   */
  close(graceMs?: number): Promise<boolean>;
}

/** Creates the app and listens on `server.host`:`server.port` (port 0 picks a free one). */
export async function startServer(config: Config, deps: { logger: Logger }): Promise<RunningServer> {
  const app = await createApp(config, deps);
  const server = http.createServer(
    {
      headersTimeout: config.server.headersTimeout,
      requestTimeout: config.server.requestTimeout,
      keepAliveTimeout: config.server.keepAliveTimeout,
    },
    app.koa.callback(),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    app,
    server,
    url: `http://${host}:${address.port}`,
    close: (graceMs = config.server.shutdownGrace) => drain(app, server, graceMs, deps.logger),
  };
}

async function drain(app: FilegateApp, server: http.Server, graceMs: number, logger: Logger): Promise<boolean> {
  app.startDraining();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A keep-alive connection whose response finishes during the drain turns
  // idle; close such connections as they appear instead of waiting for their timeout.
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
    timer.unref();
  });
  const late = await Promise.race([closed.then(() => false), timedOut]);
  clearTimeout(timer);
  clearInterval(sweeper);
  app.stop();
  if (late) {
    logger.warn({ graceMs }, 'shutdown grace is over; cutting the transfers still running');
    server.closeAllConnections();
    await closed;
  }
  return !late;
}
