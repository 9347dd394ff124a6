// A client that disconnects mid-file releases the descriptor at once: no descriptor is left behind.

import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { startChildServer } from '../helpers/child-server.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';
import path from 'node:path';

const openDescriptors = () => readdirSync('/proc/self/fd').length;

/** Starts a download, reads its first chunk, then destroys the connection. */
function abortAfterFirstChunk(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
      response.once('data', () => {
        request.destroy();
        resolve();
      });
    });
    // An error before the first chunk (a refused connection: the server is gone) fails the
    // test at once; after it, the error is the abort itself and the promise has settled.
    request.on('error', reject);
  });
}

async function settle(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('aborted downloads', () => {
  let tree: TempDir;
  let server: TestServer;

  before(async () => {
    tree = tempDir();
    tree.file('data/big.bin', Buffer.alloc(16 * 1024 * 1024, 1));
    server = await startTestServer({ layers: { OsFs: { root: `${tree.dir}/data`, maxFileSize: '1GB' } } });
  });

  after(async () => {
    await server.close();
    tree.remove();
  });

  it('leaves no descriptor open after 100 transfers aborted mid-file', async () => {
    const token = await hsToken();
    const url = `${server.url}/api/download?filepath=big.bin`;
    await abortAfterFirstChunk(url, token); // warm up lazily opened handles
    await settle(() => false, 100);
    const before = openDescriptors();
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstChunk(url, token)));
    }
    await settle(() => openDescriptors() <= before, 3000);
    expect(openDescriptors()).to.be.at.most(before);
    const aborted = server.logs.filter((line) => line.msg === 'request' && line.aborted === true);
    expect(aborted.length).to.be.at.least(100);
  });

  it('the service process survives 100 large downloads cut mid-body (regression: a write failing during the next read was an unhandled rejection)', async () => {
    // The real entry point in a child process: Node ends a process on an
    // unhandled rejection, which mocha's own handlers would hide in-process.
    const child = await startChildServer({ layers: { OsFs: { root: `${tree.dir}/data`, maxFileSize: '1GB' } } }, path.join(tree.dir, 'child.json'));
    try {
      const token = await hsToken();
      const url = `${child.url}/api/download?filepath=big.bin`;
      for (let round = 0; round < 10; round += 1) {
        await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstChunk(url, token)));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).to.equal(200);
      expect((await response.arrayBuffer()).byteLength).to.equal(16 * 1024 * 1024);
    } finally {
      await child.stop();
    }
  });
});

