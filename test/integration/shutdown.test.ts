// Graceful drain: readiness turns 503 at once, new connections are refused, transfers in flight finish, the rest is cut after the grace.

import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startChildServer } from '../helpers/child-server.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const MB = 1024 * 1024;

/** Starts a GET and resolves once the headers are in, with the response paused. */
function startDownload(url: string, token: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Authorization: `Bearer ${token}` } }, (response) => {
      response.pause();
      resolve(response);
    });
    request.on('error', reject);
  });
}

function drainBody(response: http.IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    response.on('end', () => resolve(bytes));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('aborted')));
    response.resume();
  });
}

async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

function connectionCount(server: TestServer): Promise<number> {
  return new Promise((resolve, reject) => server.running.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

/** True once a new TCP connection to `url` is refused. */
async function isRefused(url: string): Promise<boolean> {
  try {
    (await connect(url)).destroy();
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

/**
 * Reads a raw socket to its end at about `bytesPerSecond`; `hold()` stops
 * reading (the server's writes then back up) until `release()`.
 */
function readSocketSlowly(socket: net.Socket, bytesPerSecond: number) {
  const chunks: Buffer[] = [];
  let received = 0;
  let held = false;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    socket.pause();
    setTimeout(() => {
      if (!held) socket.resume();
    }, (chunk.length / bytesPerSecond) * 1000);
  });
  const ended = new Promise<Buffer>((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
  return {
    received: () => received,
    hold: () => {
      held = true;
      socket.pause();
    },
    release: () => {
      held = false;
      socket.resume();
    },
    ended,
  };
}

/** Splits raw bytes into the HTTP/1.1 responses they hold (each with a Content-Length). */
function splitResponses(raw: Buffer): Array<{ head: string; body: Buffer }> {
  const responses: Array<{ head: string; body: Buffer }> = [];
  let offset = 0;
  while (offset < raw.length) {
    const end = raw.indexOf('\r\n\r\n', offset);
    if (end === -1) throw new Error(`an incomplete head at byte ${offset}`);
    const head = raw.subarray(offset, end).toString('latin1');
    const length = Number(/^content-length: (\d+)/im.exec(head)?.[1] ?? 0);
    responses.push({ head, body: raw.subarray(end + 4, end + 4 + length) });
    offset = end + 4 + length;
  }
  return responses;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('graceful shutdown', () => {
  let tree: TempDir;
  let server: TestServer;
  const size = 32 * 1024 * 1024;

  beforeEach(async () => {
    tree = tempDir();
    tree.folder('data');
    tree.file('data/big.bin', Buffer.alloc(size, 7));
    server = await startTestServer({ layers: { OsFs: { root: `${tree.dir}/data`, maxFileSize: '1GB' } } });
  });

  afterEach(async () => {
    await server.close();
    tree.remove();
  });

  it('lets a download in flight finish, turns /readyz 503 and refuses new connections', async () => {
    const token = await hsToken();
    const response = await startDownload(`${server.url}/api/download?filepath=big.bin`, token);
    expect(response.statusCode).to.equal(200);
    // Read nothing yet: the transfer is stalled on back-pressure while the drain starts.
    const closing = server.running.close(10_000);
    const ready = await new Promise<number>((resolve) => {
      // The in-flight connection is busy; /readyz on a new connection must be refused or 503.
      http.get(`${server.url}/readyz`, (res) => resolve(res.statusCode ?? 0)).on('error', () => resolve(-1));
    });
    expect([503, -1]).to.include(ready);
    expect(server.running.app.isDraining()).to.equal(true);
    const bytes = await drainBody(response);
    expect(bytes).to.equal(size);
    expect(await closing).to.equal(true);
  });

  it('cuts transfers still running when the grace is over', async () => {
    const token = await hsToken();
    const response = await startDownload(`${server.url}/api/download?filepath=big.bin`, token);
    const clean = await server.running.close(200);
    expect(clean).to.equal(false);
    const outcome = await drainBody(response).then(
      (bytes) => bytes,
      () => -1,
    );
    expect(outcome).to.not.equal(size);
  });

  it('closes an idle keep-alive connection at once instead of waiting for its keep-alive timeout', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(`${server.url}/healthz`, { agent }, (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          })
          .on('error', reject);
      });
      expect(status).to.equal(200);
      expect(await connectionCount(server)).to.equal(1);
      // Well below the keep-alive timeout (5 s, and Node adds 1 s).
      expect(await server.running.close(2000)).to.equal(true);
    } finally {
      agent.destroy();
    }
  });

  it('does not let a client dribbling its headers hold the drain past the headers timeout (regression: http.Server#close stopped the timeout checks)', async function () {
    this.timeout(30_000);
    const quick = await startTestServer({ server: { headersTimeout: 1000, requestTimeout: 5000 }, layers: { OsFs: { root: `${tree.dir}/data` } } });
    const socket = await connect(quick.url);
    socket.on('error', () => {});
    socket.resume();
    socket.write('GET /healthz HTTP/1.1\r\nHost: filegate\r\nX-Slow: ');
    // A byte every 100 ms: never idle, never done.
    const dribble = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
    }, 100);
    try {
      await waitUntil('the server to hold the connection', async () => (await connectionCount(quick)) === 1, 5000);
      expect(await quick.running.close(10_000)).to.equal(true);
    } finally {
      clearInterval(dribble);
      socket.destroy();
      await quick.close();
    }
  });
});

describe('graceful shutdown of the service process on SIGTERM', () => {
  let tree: TempDir;
  const content = randomBytes(40 * MB);

  before(() => {
    tree = tempDir();
    tree.file('data/big.bin', content);
  });

  after(() => tree.remove());

  const config = (shutdownGrace: string) => ({
    server: { shutdownGrace },
    layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '1GB' } },
    limits: { concurrentPerSubject: 0 },
  });

  it('lets a slow download finish byte-exact, refuses new connections, answers /readyz 503 on an open connection, and exits 0', async function () {
    this.timeout(60_000);
    const child = await startChildServer(config('30s'), path.join(tree.dir, 'drain.json'));
    try {
      const token = await hsToken();
      const socket = await connect(child.url);
      const reader = readSocketSlowly(socket, 32 * MB);
      socket.write(`GET /api/download?filepath=big.bin HTTP/1.1\r\nHost: filegate\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      await waitUntil('the first megabyte', () => reader.received() > MB, 10_000);
      // Stop reading: the transfer stays in flight, backed up, while the drain starts.
      reader.hold();
      child.signal('SIGTERM');
      await waitUntil('new connections to be refused', () => isRefused(child.url), 10_000);
      expect(reader.received()).to.be.below(content.length);
      // Pipelined behind the download on the same keep-alive connection.
      socket.write('GET /readyz HTTP/1.1\r\nHost: filegate\r\n\r\n');
      reader.release();
      const [download, readyz, ...rest] = splitResponses(await reader.ended);
      expect(rest).to.have.length(0);
      expect(download!.head).to.match(/^HTTP\/1\.1 200 /);
      expect(download!.body.length).to.equal(content.length);
      expect(sha256(download!.body)).to.equal(sha256(content));
      expect(readyz!.head).to.match(/^HTTP\/1\.1 503 /);
      expect(readyz!.head).to.match(/^retry-after: \d+/im);
      expect(JSON.parse(readyz!.body.toString()).code).to.equal('UNAVAILABLE');
      expect(await child.exited).to.equal(0);
      const stopped = child.logs().find((line) => line.msg === 'filegate stopped');
      expect(stopped?.clean).to.equal(true);
    } finally {
      await child.stop();
    }
  });

  it('cuts a download still running when the grace is over, logs a warning and exits 0', async function () {
    this.timeout(60_000);
    const child = await startChildServer(config('1s'), path.join(tree.dir, 'grace.json'));
    try {
      const token = await hsToken();
      const response = await startDownload(`${child.url}/api/download?filepath=big.bin`, token);
      expect(response.statusCode).to.equal(200);
      const signalled = Date.now();
      child.signal('SIGTERM');
      expect(await child.exited).to.equal(0);
      expect(Date.now() - signalled).to.be.at.least(900);
      const outcome = await drainBody(response).then(
        (bytes) => bytes,
        () => -1,
      );
      expect(outcome).to.not.equal(content.length);
      const warning = child.logs().find((line) => line.level === 40 && /grace/.test(String(line.msg)));
      expect(warning, 'a warning that the grace is over').to.not.equal(undefined);
      expect(warning!.connections).to.equal(1);
      expect(child.logs().find((line) => line.msg === 'filegate stopped')?.clean).to.equal(false);
    } finally {
      await child.stop();
    }
  });
});
