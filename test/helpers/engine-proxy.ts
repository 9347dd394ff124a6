// An HTTP proxy in front of the real engine: counts what filegate asks of it, and can fail the way an engine or its network does.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request that reached the proxy. */
export interface SeenRequest {
  readonly method: string;
  /** The path and query as sent (keys percent-encoded). */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** What the proxy does with the next requests that `match`, instead of forwarding them. */
export type Fault =
  /** Answers an engine error: status, S3 error code, extra headers. */
  | { readonly kind: 'answer'; readonly status: number; readonly code: string; readonly headers?: Record<string, string> }
  /** Forwards, then cuts the connection after `afterBytes` bytes of the engine's body. */
  | { readonly kind: 'cut'; readonly afterBytes: number }
  /** Holds the request until `open` resolves, then forwards it; `arrived` is called when it comes. */
  | { readonly kind: 'gate'; readonly open: Promise<void>; readonly arrived?: () => void };

export interface EngineProxy {
  /** `http://127.0.0.1:PORT`: give it to filegate as the layer's endpoint. */
  readonly endpoint: string;
  /** Every request seen so far. */
  readonly seen: SeenRequest[];
  /** The most requests that were in progress at once. */
  readonly maxInFlight: () => number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Forgets the requests seen and the most in flight. */
  reset(): void;
  /** Applies `fault` to the next `times` requests that `match` (default: every request). */
  inject(fault: Fault, times?: number, match?: (request: SeenRequest) => boolean): void;
  /** Stops listening and drops every connection: the engine is gone (connection refused). */
  goDown(): Promise<void>;
  /** Listens again on the same port: the engine is back. */
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to the engine at `target` (`http://host:port`), on 127.0.0.1 and a port of its own. */
export async function startEngineProxy(target: string): Promise<EngineProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const seen: SeenRequest[] = [];
  const faults: Array<{ fault: Fault; left: number; match: (request: SeenRequest) => boolean }> = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let maxInFlight = 0;
  let accepted = 0;

  const server = http.createServer((req, res) => {
    const request: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(request);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => {
      inFlight -= 1;
    });
    const planned = faults.find((entry) => entry.left > 0 && entry.match(request));
    if (planned) planned.left -= 1;
    const fault = planned?.fault;
    if (fault?.kind === 'answer') {
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...fault.headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (fault?.kind === 'gate') {
      fault.arrived?.();
      void fault.open.then(() => pass(req, res, undefined));
      return;
    }
    pass(req, res, fault);
  });

  /** Sends the request on byte for byte: the same path (never normalised) and the same signed headers. */
  function pass(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault | undefined): void {
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (fault?.kind !== 'cut') {
        answer.pipe(res);
        return;
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        const room = fault.afterBytes - sent;
        if (room <= 0) return;
        res.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= fault.afterBytes) {
          answer.destroy();
          // Let the bytes go out, then cut the connection mid-body.
          setTimeout(() => res.socket?.destroy(), 20);
        }
      });
    });
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  }

  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    maxInFlight: () => maxInFlight,
    connections: () => accepted,
    reset() {
      seen.length = 0;
      maxInFlight = 0;
    },
    inject(fault, times = 1, match = () => true) {
      faults.push({ fault, left: times, match });
    },
    async goDown() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async comeBack() {
      await listen(server, port);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed.catch(() => {});
    },
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
