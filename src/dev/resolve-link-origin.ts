// Decides the origin `npm run sign` puts in front of a signed URL: the one given, the configured base URL, or this machine's address of the server's port.

import { toLocalOrigin } from './local-origin.js';

/** What the command line gave: `--port` and `--url` (or its older name `--base`), as typed. */
export interface LinkOriginOptions {
  readonly port?: string | undefined;
  readonly url?: string | undefined;
}

/**
 * `--url` as given (without a trailing "/"); else, without `--port`,
 * `signing.baseUrl` when set (the origin the server itself puts in the URLs
 * it signs); else `http://<host>:<port>` of `server.host` and `--port` or
 * `server.port`, as the server reads them. Throws an Error saying what to
 * give for both options at once, a malformed one, or port 0 (the server picks
 * its port at start-up, so only it knows which).
 */
export function resolveLinkOrigin(options: LinkOriginOptions, server: { readonly host: string; readonly port: number }, baseUrl: string | null): string {
  if (options.url !== undefined && options.port !== undefined) throw new Error('give --port or --url, not both');
  if (options.url !== undefined) {
    if (!/^https?:\/\/[^/?#\s]+\/?$/.test(options.url)) throw new Error(`--url ${options.url} is not an origin such as "http://localhost:8080"`);
    return options.url.replace(/\/$/, '');
  }
  if (options.port === undefined && baseUrl !== null) return baseUrl.replace(/\/$/, '');
  let port = server.port;
  if (options.port !== undefined) {
    port = /^\d{1,5}$/.test(options.port) ? Number(options.port) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) throw new Error(`--port ${options.port} is not a port number (1 to 65535)`);
  }
  if (port === 0) throw new Error('server.port is 0 (the server picks a free port when it starts): name the port it listens on with --port, or give --url');
  return toLocalOrigin(server.host, port);
}
