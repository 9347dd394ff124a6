// Per-subject limits over HTTP: concurrent transfers capped (429 + Retry-After + RateLimit headers), the request rate, and signed URLs counted by client address.

import { expect } from 'chai';
import http from 'node:http';
import { closeSync, openSync, ftruncateSync } from 'node:fs';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const BIG = 256 * 1024 * 1024;

/** Starts a download of the big file and stops reading after the first chunk: the transfer stays running until `cancel`. */
async function holdDownload(url: string, token: string): Promise<{ status: number; cancel: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}/api/download?filepath=big.bin`, { headers: { Authorization: `Bearer ${token}` } }, (response) => {
      response.once('data', () => {
        response.pause();
        resolve({ status: response.statusCode!, cancel: () => request.destroy() });
      });
      response.once('end', () => resolve({ status: response.statusCode!, cancel: () => request.destroy() }));
    });
    request.once('error', reject);
  });
}

describe('limits', () => {
  let tmp: TempDir;

  before(() => {
    tmp = tempDir();
    tmp.file('data/small.txt', 'small\n');
    const fd = openSync(tmp.file('data/big.bin', ''), 'r+');
    ftruncateSync(fd, BIG);
    closeSync(fd);
  });
  after(() => tmp.remove());

  const layers = () => ({ OsFs: { root: path.join(tmp.dir, 'data'), maxFileSize: '1GB' } });

  describe('limits.concurrentPerSubject', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ layers: layers(), limits: { concurrentPerSubject: 2 } });
    });
    after(() => server.close());

    it('a third concurrent download of a subject capped at 2 is 429 RATE_LIMITED with Retry-After and the RateLimit headers; another subject is not held back; a finished one frees its slot', async () => {
      const alice = await hsToken({ sub: 'alice' });
      const held = [await holdDownload(server.url, alice), await holdDownload(server.url, alice)];
      expect(held.map((h) => h.status)).to.deep.equal([200, 200]);
      try {
        const third = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${alice}` } });
        expect(third.headers.get('retry-after')).to.match(/^\d+$/);
        expect(third.headers.get('ratelimit-policy')).to.equal('"concurrent";q=2');
        expect(third.headers.get('ratelimit')).to.match(/^"concurrent";r=0;t=\d+$/);
        const body = await expectError(third, 429, 'RATE_LIMITED');
        expect(body.error).to.match(/2 transfers are already running/);
        const bob = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${await hsToken({ sub: 'bob' })}` } });
        expect(bob.status).to.equal(200);
        await bob.text();
      } finally {
        held[0]!.cancel();
      }
      // The cut transfer's slot comes back once its response has closed.
      let status = 0;
      for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
        const next = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${alice}` } });
        status = next.status;
        await next.arrayBuffer();
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      held[1]!.cancel();
      expect(status).to.equal(200);
    });

    it('finished downloads release their slots: 10 in a row, two at a time, all 200', async () => {
      const carol = await hsToken({ sub: 'carol' });
      for (let round = 0; round < 5; round += 1) {
        const responses = await Promise.all(
          [0, 1].map(() => fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${carol}` } })),
        );
        for (const response of responses) {
          expect(response.status).to.equal(200);
          await response.text();
        }
      }
    });

    it('probes such as /healthz are not held back by a subject at its cap', async () => {
      const dave = await hsToken({ sub: 'dave' });
      const held = [await holdDownload(server.url, dave), await holdDownload(server.url, dave)];
      try {
        expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
      } finally {
        for (const h of held) h.cancel();
      }
    });
  });

  describe('limits.rate', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({
        layers: layers(),
        limits: { concurrentPerSubject: 0, rate: { requests: 3, window: '2s' } },
        signing: { keys: { k1: 'k1-signing-key-that-is-long-enough-0123' }, currentKey: 'k1' },
      });
    });
    after(() => server.close());

    it('the fourth request in a window is 429 with Retry-After; answers before it count down in RateLimit; a new window serves again', async function () {
      this.timeout(10_000);
      const erin = await hsToken({ sub: 'erin' });
      const get = () => fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${erin}` } });
      const remaining: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        const response = await get();
        expect(response.status).to.equal(200);
        expect(response.headers.get('ratelimit-policy')).to.equal('"per-subject";q=3;w=2');
        remaining.push(/r=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1] ?? '?');
        await response.text();
      }
      expect(remaining).to.deep.equal(['2', '1', '0']);
      const limited = await get();
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).to.be.within(1, 2);
      await expectError(limited, 429, 'RATE_LIMITED');
      // Another subject has a window of its own.
      expect((await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${await hsToken({ sub: 'frank' })}` } })).status).to.equal(200);
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
      expect((await get()).status).to.equal(200);
    });

    it('signed URLs are counted by client address: the fourth fetch of signed URLs from here is 429', async () => {
      const signer = await hsToken({ sub: 'grace', scope: 'files:read files:sign' });
      const urls: string[] = [];
      for (let index = 0; index < 2; index += 1) {
        const response = await fetch(`${server.url}/api/sign`, { method: 'POST', headers: { Authorization: `Bearer ${signer}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ filepath: 'small.txt' }) });
        expect(response.status).to.equal(200);
        urls.push(((await response.json()) as { download_url: string }).download_url);
      }
      const statuses: number[] = [];
      for (const url of [urls[0]!, urls[1]!, urls[0]!, urls[1]!]) {
        const response = await fetch(url);
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
    });
  });
});
