// Per-subject limits over HTTP: concurrent transfers and listings capped apart (429 + Retry-After + RateLimit headers), the request rate, signed URLs counted per link and tokens without sub by client address.

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

  describe('limits.concurrentPerSubject for signed URLs', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ layers: layers(), limits: { concurrentPerSubject: 2 }, signing: { keys: { k1: 'k1-signing-key-that-is-long-enough-0123' }, currentKey: 'k1' } });
    });
    after(() => server.close());

    /** Signs big.bin for `sub`, with a lifetime that makes each link distinct. */
    async function linkFor(sub: string, seconds: number): Promise<string> {
      const response = await fetch(`${server.url}/api/sign`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await hsToken({ sub, scope: 'files:read files:sign' })}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ filepath: 'big.bin', expires_in: seconds }),
      });
      expect(response.status).to.equal(200);
      return ((await response.json()) as { download_url: string }).download_url;
    }

    /** Starts a GET of `url` and stops reading after the first chunk: it holds its slot until `cancel`. */
    function holdUrl(url: string): Promise<{ status: number; cancel: () => void }> {
      return new Promise((resolve, reject) => {
        const request = http.get(url, { agent: false }, (response) => {
          response.once('data', () => {
            response.pause();
            resolve({ status: response.statusCode!, cancel: () => request.destroy() });
          });
          response.once('end', () => resolve({ status: response.statusCode!, cancel: () => request.destroy() }));
        });
        request.once('error', reject);
      });
    }

    it('slots are keyed by the link: with link A at its cap from this address, link B (same signer, same file) is served; the next reader of A is 429', async () => {
      const linkA = await linkFor('quinn', 900);
      const linkB = await linkFor('quinn', 901);
      const readersOfA = [await holdUrl(linkA), await holdUrl(linkA)];
      const held = [...readersOfA];
      try {
        expect(readersOfA.map((h) => h.status)).to.deep.equal([200, 200]);
        // Regression: every link holder behind one address shared one set of slots.
        const readersOfB = [await holdUrl(linkB), await holdUrl(linkB)];
        held.push(...readersOfB);
        expect(readersOfB.map((h) => h.status)).to.deep.equal([200, 200]);
        const third = await fetch(linkA);
        const body = await expectError(third, 429, 'RATE_LIMITED');
        expect(body.error).to.match(/2 transfers are already running/);
        expect(third.headers.get('retry-after')).to.equal('1');
        // The signer's own token has slots of its own too.
        const own = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${await hsToken({ sub: 'quinn' })}` } });
        expect(own.status).to.equal(200);
        await own.text();
      } finally {
        for (const h of held) h.cancel();
      }
      // A's slots come back once its readers have gone.
      let status = 0;
      for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
        const next = await fetch(linkA, { headers: { Range: 'bytes=0-0' } });
        status = next.status === 206 ? 200 : next.status;
        await next.arrayBuffer();
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(status).to.equal(200);
    });

    it('tokens without sub are still counted by client address, and a link fetched from that address is not held back by them', async () => {
      const link = await linkFor('rosa', 902);
      const anonymous = await hsToken({ sub: undefined });
      // Two different tokens, one address: they share its slots.
      const held = [await holdDownload(server.url, anonymous), await holdDownload(server.url, await hsToken({ sub: undefined, nonce: 'another token' }))];
      try {
        expect(held.map((h) => h.status)).to.deep.equal([200, 200]);
        await expectError(await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${anonymous}` } }), 429, 'RATE_LIMITED');
        const linked = await fetch(link, { headers: { Range: 'bytes=0-0' } });
        expect(linked.status).to.equal(206);
        await linked.arrayBuffer();
      } finally {
        for (const h of held) h.cancel();
      }
    });
  });

  describe('limits.concurrentPerSubject for listings', () => {
    // A folder whose listing page is over 10 MB, more than the loopback socket
    // buffers take: a client that stops reading holds the listing (and its
    // slot) open until it leaves. Its path is long and non-ASCII, so each of
    // the 1000 entries carries about 12 KB of path and percent-encoded link.
    const DEEP = Array.from({ length: 12 }, (_, index) => `${index}${'é'.repeat(124)}`).join('/');
    let server: TestServer;

    before(async () => {
      for (let index = 0; index < 1000; index += 1) tmp.file(`data/${DEEP}/f${index}.txt`, 'x');
      server = await startTestServer({ layers: layers(), limits: { concurrentPerSubject: 2 } });
    });
    after(() => server.close());

    const listUrl = () => `${server.url}/api/list?${new URLSearchParams({ path: DEEP, limit: '1000' })}`;

    /** Starts a listing of the deep folder and stops reading after the first chunk: the listing stays open until `cancel`. */
    function holdListing(token: string): Promise<{ status: number; cancel: () => void }> {
      return new Promise((resolve, reject) => {
        const request = http.get(listUrl(), { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
          response.once('data', () => {
            response.pause();
            resolve({ status: response.statusCode!, cancel: () => request.destroy() });
          });
        });
        request.once('error', reject);
      });
    }

    it('the third concurrent listing of a subject capped at 2 is 429 RATE_LIMITED with Retry-After; its downloads still run; a closed listing frees its slot', async () => {
      const token = await hsToken({ sub: 'lena', scope: 'files:read files:list' });
      const held = [await holdListing(token), await holdListing(token)];
      expect(held.map((h) => h.status)).to.deep.equal([200, 200]);
      try {
        const third = await fetch(listUrl(), { headers: { Authorization: `Bearer ${token}` } });
        expect(third.headers.get('retry-after')).to.equal('1');
        expect(third.headers.get('ratelimit-policy')).to.equal('"concurrent-listings";q=2');
        expect(third.headers.get('ratelimit')).to.equal('"concurrent-listings";r=0;t=1');
        const body = await expectError(third, 429, 'RATE_LIMITED');
        expect(body.error).to.match(/2 listings are already running/);
        // Listings and transfers have slots of their own: two downloads and another subject's listing still run.
        const downloads = await Promise.all([0, 1].map(() => fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${token}` } })));
        for (const download of downloads) {
          expect(download.status).to.equal(200);
          await download.text();
        }
        const other = await fetch(`${server.url}/api/list`, { headers: { Authorization: `Bearer ${await hsToken({ sub: 'mona', scope: 'files:list' })}` } });
        expect(other.status).to.equal(200);
        await other.text();
      } finally {
        held[0]!.cancel();
      }
      // The cut listing's slot comes back once its response has closed.
      let status = 0;
      for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
        const next = await fetch(`${server.url}/api/list`, { headers: { Authorization: `Bearer ${token}` } });
        status = next.status;
        await next.arrayBuffer();
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      held[1]!.cancel();
      expect(status).to.equal(200);
    });

    it('transfers at their cap leave the listing slots free (a file browser\'s thumbnails do not block its listings), and the listings have their own cap', async () => {
      const token = await hsToken({ sub: 'nina', scope: 'files:read files:list' });
      const downloads = [await holdDownload(server.url, token), await holdDownload(server.url, token)];
      expect(downloads.map((h) => h.status)).to.deep.equal([200, 200]);
      const listings: Array<{ status: number; cancel: () => void }> = [];
      try {
        await expectError(await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${token}` } }), 429, 'RATE_LIMITED');
        listings.push(await holdListing(token), await holdListing(token));
        expect(listings.map((h) => h.status)).to.deep.equal([200, 200]);
        await expectError(await fetch(listUrl(), { headers: { Authorization: `Bearer ${token}` } }), 429, 'RATE_LIMITED');
      } finally {
        for (const h of [...downloads, ...listings]) h.cancel();
      }
    });

    it('finished listings release their slots: 10 in a row, two at a time, all 200; then the cap still holds at 2', async () => {
      const token = await hsToken({ sub: 'olga', scope: 'files:list' });
      for (let round = 0; round < 5; round += 1) {
        const responses = await Promise.all([0, 1].map(() => fetch(`${server.url}/api/list`, { headers: { Authorization: `Bearer ${token}` } })));
        for (const response of responses) {
          expect(response.status).to.equal(200);
          await response.text();
        }
      }
      const held = [await holdListing(token), await holdListing(token)];
      try {
        expect(held.map((h) => h.status)).to.deep.equal([200, 200]);
        await expectError(await fetch(listUrl(), { headers: { Authorization: `Bearer ${token}` } }), 429, 'RATE_LIMITED');
      } finally {
        for (const h of held) h.cancel();
      }
    });

    it('a list route alias takes a listing slot too', async () => {
      const aliased = await startTestServer({ layers: layers(), limits: { concurrentPerSubject: 1 }, routes: [{ path: '/browse/deep', list: DEEP }] });
      try {
        const token = await hsToken({ sub: 'pia', scope: 'files:list' });
        const held = await new Promise<{ status: number; cancel: () => void }>((resolve, reject) => {
          const request = http.get(`${aliased.url}/browse/deep?limit=1000`, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
            response.once('data', () => {
              response.pause();
              resolve({ status: response.statusCode!, cancel: () => request.destroy() });
            });
          });
          request.once('error', reject);
        });
        try {
          expect(held.status).to.equal(200);
          const second = await fetch(`${aliased.url}/browse/deep`, { headers: { Authorization: `Bearer ${token}` } });
          const body = await expectError(second, 429, 'RATE_LIMITED');
          expect(body.error).to.match(/1 listings are already running/);
        } finally {
          held.cancel();
        }
      } finally {
        await aliased.close();
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

    it('signed URLs are counted per link, not by client address: the fourth fetch of one link is 429, another link from here is still served', async () => {
      const signer = await hsToken({ sub: 'grace', scope: 'files:read files:sign' });
      const urls: string[] = [];
      for (let index = 0; index < 2; index += 1) {
        // Different lifetimes make different links for the same file.
        const response = await fetch(`${server.url}/api/sign`, { method: 'POST', headers: { Authorization: `Bearer ${signer}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ filepath: 'small.txt', expires_in: 600 + index }) });
        expect(response.status).to.equal(200);
        urls.push(((await response.json()) as { download_url: string }).download_url);
      }
      expect(urls[0]).to.not.equal(urls[1]);
      const statuses: number[] = [];
      for (const url of [urls[0]!, urls[0]!, urls[0]!, urls[0]!, urls[1]!, urls[1]!]) {
        const response = await fetch(url);
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429, 200, 200]);
    });
  });

  describe('limits behind a trusted proxy (server.trustProxy)', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ layers: layers(), server: { trustProxy: true }, limits: { concurrentPerSubject: 0, rate: { requests: 2, window: '5s' } } });
    });
    after(() => server.close());

    it('a caller without sub is counted by the address the proxy saw (the last X-Forwarded-For entry), whatever it writes before it', async () => {
      const anonymous = await hsToken({ sub: undefined });
      // nginx's $proxy_add_x_forwarded_for appends the address it saw to what the client sent.
      const statuses: number[] = [];
      for (const claimed of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
        const response = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${anonymous}`, 'X-Forwarded-For': `${claimed}, 203.0.113.7` } });
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses).to.deep.equal([200, 200, 429]);
      // Another address the proxy saw has a window of its own.
      const other = await fetch(`${server.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${anonymous}`, 'X-Forwarded-For': '203.0.113.8' } });
      expect(other.status).to.equal(200);
    });
  });
});
