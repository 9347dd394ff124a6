// Delivery "redirect" on the real engine: large attachments answer 302 to a presigned URL that the engine serves byte for byte with filegate's headers; everything else filegate answers itself.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { startEngineProxy } from '../helpers/engine-proxy.js';
import { createTestBucket, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';

const MIN_SIZE = 64 * 1024;
const BIG = randomBytes(200 * 1024);
const SMALL = randomBytes(MIN_SIZE - 1);
// Reserved characters, a space, a percent sign and non-ASCII in one key: it must reach the engine byte for byte.
const ODD_NAME = 'dir/a b%?#é+.bin';

interface PlainResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Follows a Location as a plain HTTP client does: the request path exactly as
 * written there (no URL normalisation), only the headers given, nothing of
 * the request that got the redirect.
 */
function follow(location: string, headers: Record<string, string> = {}): Promise<PlainResponse> {
  const origin = /^http:\/\/[^/]+/.exec(location)![0];
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: location.slice(origin.length), method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('delivery "redirect" (real engine)', function () {
  this.timeout(120_000);
  let store: ObjectStore;
  let bucket: EngineClient;
  let server: TestServer;
  let token: string;

  const download = (filepath: string, init: RequestInit & { query?: string } = {}) =>
    fetch(`${server.url}/api/download?filepath=${encodeURIComponent(filepath)}${init.query ?? ''}`, {
      redirect: 'manual',
      ...init,
      headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
    });

  before(async () => {
    store = await startObjectStore();
    bucket = await createTestBucket();
    await Promise.all([
      bucket.put('media/clip.bin', BIG),
      bucket.put(`media/${ODD_NAME}`, BIG),
      bucket.put('media/small.bin', SMALL),
      bucket.put('media/picture.png', BIG),
      bucket.put('media/page.html', BIG),
    ]);
    server = await startTestServer({
      layers: {
        media: {
          driver: 's3',
          endpoint: store.endpoint,
          region: store.region,
          bucket: bucket.bucket,
          prefix: 'media/',
          forcePathStyle: true,
          credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
          delivery: { mode: 'redirect', minSize: MIN_SIZE, ttl: '5m' },
        },
      },
      defaultLayer: 'media',
    });
    token = await hsToken();
  });

  after(async () => {
    await server?.close();
    bucket?.close();
  });

  it('answers a GET of a large file with 302 to a presigned URL and no body, stored by no one', async () => {
    const response = await download('clip.bin', { headers: { 'X-Request-Id': 'redirect-1' } });
    expect(response.status).to.equal(302);
    expect(await response.text()).to.equal('');
    const location = response.headers.get('location')!;
    expect(location.startsWith(`${store.endpoint}/${bucket.bucket}/media/clip.bin?`)).to.equal(true);
    expect(response.headers.get('cache-control')).to.equal('private, no-store');
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(response.headers.get('content-length')).to.equal('0');
    // Only the layer's key signs it: nothing of the caller's token.
    expect(location).to.not.include(token).and.not.include(token.split('.')[2]!);
    expect(location).to.include(`X-Amz-Credential=${store.accessKeyId}%2F`);
    expect(location).to.not.include(store.secretAccessKey);
    const line = await waitForAccessLine(server, 'redirect-1');
    expect(line).to.include({ status: 302, bytes: 0, delivery: 'redirected', offloadedBytes: BIG.length, layer: 'media' });
    expect(JSON.stringify(line)).to.not.include('X-Amz-Signature');
  });

  it('the engine serves the exact bytes under filegate\'s Content-Type, Content-Disposition and Cache-Control', async () => {
    const head = await download('clip.bin', { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expectFileHeaders(head);
    const followed = await follow((await download('clip.bin')).headers.get('location')!);
    expect(followed.status).to.equal(200);
    expect(followed.body.equals(BIG)).to.equal(true);
    expect(followed.headers['content-type']).to.equal(head.headers.get('content-type'));
    expect(followed.headers['content-disposition']).to.equal(head.headers.get('content-disposition'));
    expect(followed.headers['cache-control']).to.equal(head.headers.get('cache-control'));
    expect(followed.headers['content-length']).to.equal(String(BIG.length));
  });

  it('a key with a space, "%", "?", "#", "+" and non-ASCII reaches the engine byte for byte', async () => {
    const response = await download(ODD_NAME);
    expect(response.status).to.equal(302);
    const location = response.headers.get('location')!;
    expect(location.startsWith(`${store.endpoint}/${bucket.bucket}/media/dir/a%20b%25%3F%23%C3%A9%2B.bin?`)).to.equal(true);
    const followed = await follow(location);
    expect(followed.status).to.equal(200);
    expect(followed.body.equals(BIG)).to.equal(true);
    expect(followed.headers['content-disposition']).to.include("filename*=UTF-8''a%20b%25%3F%23%C3%A9%2B.bin");
  });

  it('one plain range: 302 too, and the engine answers the range the client sends along', async () => {
    const response = await download('clip.bin', { headers: { Range: 'bytes=1000-1999', 'X-Request-Id': 'redirect-range' } });
    expect(response.status).to.equal(302);
    const followed = await follow(response.headers.get('location')!, { Range: 'bytes=1000-1999' });
    expect(followed.status).to.equal(206);
    expect(followed.headers['content-range']).to.equal(`bytes 1000-1999/${BIG.length}`);
    expect(followed.body.equals(BIG.subarray(1000, 2000))).to.equal(true);
    expect(await waitForAccessLine(server, 'redirect-range')).to.include({ delivery: 'redirected', offloadedBytes: 1000 });
  });

  it('repeated requests within the signing window get the very same URL (a browser cache holds)', async () => {
    const locations = new Set<string>();
    for (let i = 0; i < 3; i += 1) locations.add((await download('clip.bin')).headers.get('location')!);
    // Two windows at most if a boundary passed between the requests; within one window, one URL.
    expect(locations.size).to.be.at.most(2);
    const [a, b] = await Promise.all([download('clip.bin'), download('clip.bin')]);
    const dateOf = (url: string) => /X-Amz-Date=(\w+)/.exec(url)![1];
    const [first, second] = [a.headers.get('location')!, b.headers.get('location')!];
    if (dateOf(first) === dateOf(second)) expect(first).to.equal(second);
  });

  it('a client that forwards its Authorization header to the engine is refused there (400 InvalidArgument: one signature per request)', async () => {
    const location = (await download('clip.bin')).headers.get('location')!;
    const followed = await follow(location, { Authorization: `Bearer ${token}` });
    expect(followed.status).to.equal(400);
    expect(followed.body.toString('utf8')).to.include('<Code>InvalidArgument</Code>');
  });

  describe('answered by filegate itself', () => {
    it('HEAD', async () => {
      const response = await download('clip.bin', { method: 'HEAD', headers: { 'X-Request-Id': 'redirect-head' } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('location')).to.equal(null);
      expectFileHeaders(response);
      expect(await waitForAccessLine(server, 'redirect-head')).to.include({ delivery: 'proxy' }).and.not.have.property('offloadedBytes');
    });

    it('a file under minSize', async () => {
      const response = await download('small.bin');
      expect(response.status).to.equal(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(SMALL)).to.equal(true);
    });

    it('304, 412 and 416', async () => {
      const etag = (await download('clip.bin', { method: 'HEAD' })).headers.get('etag')!;
      const notModified = await download('clip.bin', { headers: { 'If-None-Match': etag } });
      expect(notModified.status).to.equal(304);
      expect(notModified.headers.get('location')).to.equal(null);
      await expectError(await download('clip.bin', { headers: { 'If-Match': '"other"' } }), 412, 'PRECONDITION_FAILED');
      await expectError(await download('clip.bin', { headers: { Range: `bytes=${BIG.length}-` } }), 416, 'RANGE_NOT_SATISFIABLE');
    });

    it('multipart ranges, and a Range under an If-Range that does not match', async () => {
      const multipart = await download('clip.bin', { headers: { Range: 'bytes=0-9,100-109' } });
      expect(multipart.status).to.equal(206);
      expect(multipart.headers.get('content-type')).to.match(/^multipart\/byteranges; boundary=/);
      const stale = await download('clip.bin', { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
      expect(stale.status).to.equal(200);
      expect(Buffer.from(await stale.arrayBuffer()).equals(BIG)).to.equal(true);
    });

    it('conditional GETs that pass, since the engine would compare its own validators', async () => {
      const etag = (await download('clip.bin', { method: 'HEAD' })).headers.get('etag')!;
      const matching = await download('clip.bin', { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
      expect(matching.status).to.equal(206);
      expect(Buffer.from(await matching.arrayBuffer()).equals(BIG.subarray(0, 10))).to.equal(true);
      const passing = await download('clip.bin', { headers: { 'If-Match': etag } });
      expect(passing.status).to.equal(200);
      expect(Buffer.from(await passing.arrayBuffer()).equals(BIG)).to.equal(true);
    });

    it('an image asked for inline (the engine could not send its Content-Security-Policy); an active type asked inline goes as an attachment and is redirected', async () => {
      const inline = await download('picture.png', { query: '&disposition=inline' });
      expect(inline.status).to.equal(200);
      expectFileHeaders(inline);
      const html = await download('page.html', { query: '&disposition=inline' });
      expect(html.status).to.equal(302);
      const followed = await follow(html.headers.get('location')!);
      expect(followed.headers['content-disposition']).to.match(/^attachment;/);
    });

    it('a refused request is filegate\'s JSON error, never a redirect', async () => {
      await expectError(await fetch(`${server.url}/api/download?filepath=clip.bin`, { redirect: 'manual' }), 401, 'UNAUTHORIZED');
      await expectError(await download('missing.bin'), 404, 'NOT_FOUND');
    });
  });

  it('the metrics count redirected responses and the bytes the engine was left to send', async () => {
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{delivery="redirected"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { responses: value('filegate_offloaded_responses_total'), bytes: value('filegate_offloaded_body_bytes_total'), xAccel: /filegate_offloaded_responses_total\{delivery="x-accel"\} 0$/m.test(text) };
    };
    const before = await read();
    const response = await download('clip.bin', { headers: { 'X-Request-Id': 'redirect-metrics' } });
    expect(response.status).to.equal(302);
    await waitForAccessLine(server, 'redirect-metrics');
    const after = await read();
    expect(after.responses - before.responses).to.equal(1);
    expect(after.bytes - before.bytes).to.equal(BIG.length);
    expect(after.xAccel).to.equal(true);
  });

  it('with delivery.endpoint, the URL names the engine as clients reach it, and works there', async () => {
    // The same engine at another address, as a public reverse proxy would offer it.
    const front = await startEngineProxy(store.endpoint);
    const publicEndpoint = front.endpoint;
    const other = await startTestServer({
      layers: {
        media: {
          driver: 's3', endpoint: store.endpoint, region: store.region, bucket: bucket.bucket, prefix: 'media/', forcePathStyle: true,
          credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
          delivery: { mode: 'redirect', minSize: MIN_SIZE, endpoint: publicEndpoint },
        },
      },
      defaultLayer: 'media',
    });
    try {
      const response = await fetch(`${other.url}/api/download?filepath=clip.bin`, { redirect: 'manual', headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).to.equal(302);
      const location = response.headers.get('location')!;
      expect(location.startsWith(`${publicEndpoint}/${bucket.bucket}/media/clip.bin?`)).to.equal(true);
      const followed = await follow(location);
      expect(followed.status, followed.body.toString()).to.equal(200);
      expect(followed.body.equals(BIG)).to.equal(true);
      expect(front.seen.map((request) => request.method), 'the client went through the public address').to.deep.equal(['GET']);
    } finally {
      await other.close();
      await front.close();
    }
  });
});
