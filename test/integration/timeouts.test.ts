// Server timeouts: slow headers, silent and stalled clients are cut near their timeout, keep-alive keeps its own.

import { expect } from 'chai';
import { truncateSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { descriptorsOn, tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const HEADERS_TIMEOUT = 2000;
const KEEP_ALIVE_TIMEOUT = 100;
// Node keeps an idle keep-alive socket one second past the advertised keepAliveTimeout.
const KEEP_ALIVE_CLOSE = KEEP_ALIVE_TIMEOUT + 1000;
const IDLE_TIMEOUT = 3000;
// What a loaded 2-core machine may add to a timer before a socket is seen closing.
const SLACK = 4000;

async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function connectionCount(server: TestServer): Promise<number> {
  return new Promise((resolve, reject) => server.running.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the time (Date.now()) at which the server ended or closed `socket`. */
function whenClosed(socket: net.Socket): Promise<number> {
  return new Promise((resolve) => {
    const done = () => resolve(Date.now());
    socket.once('end', done);
    socket.once('close', done);
    socket.on('error', () => {});
  });
}

/** Reads one response with a Content-Length off a raw socket; bytes after it stay unread. */
function readResponse(socket: net.Socket): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = received.subarray(0, end).toString('latin1');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({ head, body: received.subarray(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A plain GET on a connection of its own (agent: false sends `Connection: close`). */
function download(url: string, token: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('server timeouts', () => {
  let tree: TempDir;
  let server: TestServer;
  let huge: string;
  const content = Buffer.from(Array.from({ length: 256 * 1024 }, (_, index) => index % 251));

  before(async () => {
    tree = tempDir();
    tree.file('data/file.bin', content);
    tree.file('data/small.txt', 'small\n');
    // Sparse: 512 MB that take no disk, far more than socket buffers hold.
    huge = tree.file('data/huge.bin', '');
    truncateSync(huge, 512 * 1024 * 1024);
    server = await startTestServer({
      server: { headersTimeout: HEADERS_TIMEOUT, requestTimeout: 10_000, keepAliveTimeout: KEEP_ALIVE_TIMEOUT, idleTimeout: IDLE_TIMEOUT },
      layers: { OsFs: { root: `${tree.dir}/data`, maxFileSize: '1GB' } },
      limits: { concurrentPerSubject: 0 },
    });
  });

  after(async () => {
    await server.close();
    tree.remove();
  });

  it('serves a download while 200 clients dribble their headers, and closes those clients at the headers timeout with 408', async function () {
    this.timeout(30_000);
    const token = await hsToken();
    const before = await connectionCount(server);
    const started = Date.now();
    const slow = await Promise.all(Array.from({ length: 200 }, () => connect(server.url)));
    const closedAt = slow.map(whenClosed);
    const answers = slow.map((socket) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      return () => text;
    });
    let closedSoFar = 0;
    for (const at of closedAt) void at.then(() => (closedSoFar += 1));
    for (const socket of slow) socket.write('GET /api/download?filepath=small.txt HTTP/1.1\r\nHost: filegate\r\nX-Slow: ');
    // One more byte of the same header line, every 250 ms: never idle, never done.
    const dribble = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write('a');
    }, 250);
    try {
      await waitUntil('the server to accept the slow clients', async () => (await connectionCount(server)) >= before + 200, 5000);
      const served = await download(`${server.url}/api/download?filepath=file.bin`, token);
      expect(served.status).to.equal(200);
      expect(served.body.equals(content)).to.equal(true);
      // Served while every slow client still held its connection.
      expect(closedSoFar).to.equal(0);

      const times = await Promise.all(closedAt);
      for (const at of times) {
        expect(at - started).to.be.at.least(HEADERS_TIMEOUT - 100);
        expect(at - started).to.be.at.most(HEADERS_TIMEOUT + SLACK);
      }
      for (const answer of answers) expect(answer()).to.match(/^HTTP\/1\.1 408 /);
      await waitUntil('the server to let the slow connections go', async () => (await connectionCount(server)) <= before, 2000);
    } finally {
      clearInterval(dribble);
      for (const socket of slow) socket.destroy();
    }
  });

  it('closes a connection that never sends a byte at the headers timeout', async function () {
    this.timeout(20_000);
    const started = Date.now();
    const socket = await connect(server.url);
    socket.resume();
    const at = await whenClosed(socket);
    socket.destroy();
    expect(at - started).to.be.at.least(HEADERS_TIMEOUT - 100);
    expect(at - started).to.be.at.most(HEADERS_TIMEOUT + SLACK);
  });

  it('closes a keep-alive connection idle between requests after keepAliveTimeout, not the longer idle timeout', async function () {
    this.timeout(20_000);
    const token = await hsToken();
    const socket = await connect(server.url);
    const closed = whenClosed(socket);
    socket.write(`GET /api/download?filepath=small.txt HTTP/1.1\r\nHost: filegate\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const { head, body } = await readResponse(socket);
    const answered = Date.now();
    expect(head).to.match(/^HTTP\/1\.1 200 /);
    expect(body.toString()).to.equal('small\n');
    const at = await closed;
    socket.destroy();
    expect(at - answered).to.be.below((KEEP_ALIVE_CLOSE + IDLE_TIMEOUT) / 2);
  });

  it('cuts a client that stops reading a large download after the idle timeout and frees the file descriptor, also on a reused keep-alive connection', async function () {
    this.timeout(30_000);
    const token = await hsToken();
    expect(descriptorsOn(huge)).to.equal(0);
    const before = await connectionCount(server);
    const socket = await connect(server.url);
    socket.on('error', () => {});
    // A first request, so the stalled one runs on a connection that was idle
    // between requests: its timeout must be the idle one again, not keep-alive's.
    socket.write(`GET /api/download?filepath=small.txt HTTP/1.1\r\nHost: filegate\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await readResponse(socket);
    socket.write(`GET /api/download?filepath=huge.bin HTTP/1.1\r\nHost: filegate\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const head = await new Promise<string>((resolve) => {
      let received = '';
      const onData = (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (!received.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        // Never resumed: the socket buffers fill and the server's writes stop.
        socket.pause();
        resolve(received.slice(0, received.indexOf('\r\n')));
      };
      socket.on('data', onData);
    });
    const stalled = Date.now();
    try {
      expect(head).to.match(/^HTTP\/1\.1 200 /);
      expect(descriptorsOn(huge)).to.equal(1);
      // Node lets a write still moving when the timer fires off once: the cut
      // comes between one and two idle timeouts after the last byte left. The
      // kernel may still move bytes into the paused socket's buffers for a
      // while after the head arrived (slowly on a busy machine), so the wait
      // allows a third.
      await waitUntil('the stalled download to be cut', () => descriptorsOn(huge) === 0, 3 * IDLE_TIMEOUT + SLACK);
      expect(Date.now() - stalled).to.be.at.least(KEEP_ALIVE_CLOSE + 500);
      await waitUntil('the server to let the connection go', async () => (await connectionCount(server)) <= before, 2000);
    } finally {
      socket.destroy();
    }
  });
});
