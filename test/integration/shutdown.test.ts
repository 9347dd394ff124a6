// Graceful drain: readiness turns 503 at once, transfers in flight finish, new connections are refused.

import { expect } from 'chai';
import http from 'node:http';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

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
});
