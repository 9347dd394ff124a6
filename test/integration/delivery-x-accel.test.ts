// Delivery "x-accel" behind real nginx running docs/deployment.md's configuration: nginx sends the bytes, the client sees filegate's decision and headers, and filegate answers everything else, including what nginx can no longer open.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { realpathSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { deploymentBlock, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const LOCATION = '/_filegate/media/';
const BIG = randomBytes(300 * 1024);
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(2000)]);
const SECRET = 'SECRET-OUTSIDE-THE-ROOT';
// Every byte nginx and a URL treat specially, in names and folders.
const ODD_NAMES = ['a b.bin', '100%.bin', 'what?.bin', 'hash#tag.bin', 'plus+semi;.bin', 'été/日本 語.bin', '%41%2e%2e.bin', '..dots.bin', '.hidden', 'dir/..x/.y'];

/**
 * An HTTP hop between nginx and filegate that runs `beforeAccel` once filegate
 * has answered with X-Accel-Redirect and before nginx reads that answer: the
 * moment between filegate's check and nginx's open, made to last. It counts
 * the connections nginx opens to it, and with `hold` at N it keeps requests
 * back until N have come, then passes them all on: N requests in flight at
 * once, for certain.
 */
function startInterposer(target: string): Promise<{ url: string; port: number; beforeAccel: ((redirect: string) => void) | null; hold: number; connections: number; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const hop = {
    url: '',
    port: 0,
    beforeAccel: null as ((redirect: string) => void) | null,
    hold: 0,
    connections: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const held: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    if (hop.hold > 0) {
      held.push(() => forward(req, res));
      if (held.length >= hop.hold) for (const release of held.splice(0)) release();
      return;
    }
    forward(req, res);
  });
  server.on('connection', () => (hop.connections += 1));
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const upstream = http.request({ hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const redirect = answer.headers['x-accel-redirect'];
      if (typeof redirect === 'string' && hop.beforeAccel !== null) {
        const hook = hop.beforeAccel;
        hop.beforeAccel = null;
        hook(redirect);
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  server.keepAliveTimeout = 1000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      hop.port = (server.address() as { port: number }).port;
      hop.url = `http://127.0.0.1:${hop.port}`;
      resolve(hop);
    });
  });
}

describe('delivery "x-accel" behind nginx (docs/deployment.md)', function () {
  this.timeout(60_000);
  let tmp: TempDir;
  let root: string;
  let server: TestServer;
  let hop: Awaited<ReturnType<typeof startInterposer>>;
  let nginx: RunningNginx;
  let token: string;

  const get = (filepath: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${nginx.url}/api/download?filepath=${encodeURIComponent(filepath)}${query}`, { headers: { Authorization: `Bearer ${token}`, ...headers } });
  const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer());
  const lineOf = (id: string) => waitForAccessLine(server, id);

  before(async () => {
    tmp = tempDir('filegate-x-accel-');
    root = path.join(realpathSync(tmp.dir), 'media');
    tmp.file('media/big.bin', BIG);
    tmp.file('media/photo.png', PNG);
    tmp.file('media/empty.txt', '');
    for (const name of ODD_NAMES) tmp.file(`media/${name}`, Buffer.concat([Buffer.from(name), BIG.subarray(0, 5000)]));
    tmp.file('outside/secret.txt', `${SECRET}\n`);
    tmp.file('outside/dir/file.txt', `${SECRET} in a folder\n`);
    server = await startTestServer({
      // Hidden names and empty files served, so names nginx reads specially ("..x", ".x") and a body of nothing are tried too.
      layers: { media: { root, hidden: 'allow', allowEmpty: true, delivery: { mode: 'x-accel', location: LOCATION } } },
      defaultLayer: 'media',
    });
    hop = await startInterposer(server.url);
    nginx = await startNginx(deploymentBlock('nginx: x-accel'), [
      ['server 127.0.0.1:3000;', () => `server 127.0.0.1:${hop.port};`],
      ['listen 80;', (port) => `listen 127.0.0.1:${port};`],
      ['alias /srv/media/;', () => `alias ${root}/;`],
    ]);
    token = await hsToken();
  });

  after(async () => {
    await nginx?.stop();
    await hop?.close();
    await server?.close();
    tmp?.remove();
  });

  afterEach(() => {
    hop.beforeAccel = null;
    hop.hold = 0;
  });

  describe('nginx sends the body', () => {
    it('a whole file: byte-exact, with filegate\'s headers and validators, one Accept-Ranges', async () => {
      const head = await get('big.bin', {}, '');
      const viaHead = await fetch(`${nginx.url}/api/download?filepath=big.bin`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      const response = await get('big.bin', { 'X-Request-Id': 'xa-full' });
      expect(response.status).to.equal(200);
      expect((await bytesOf(response)).equals(BIG)).to.equal(true);
      expectFileHeaders(response);
      expect(response.headers.get('content-length')).to.equal(String(BIG.length));
      expect(response.headers.get('x-request-id')).to.equal('xa-full');
      // HEAD is answered by filegate itself: the GET through nginx carries the same decision.
      for (const name of ['etag', 'last-modified', 'content-disposition', 'content-type', 'cache-control', 'content-security-policy']) {
        expect(response.headers.get(name), name).to.equal(viaHead.headers.get(name));
      }
      expect(response.headers.get('server')).to.equal('nginx');
      expect(response.headers.get('x-accel-redirect')).to.equal(null);
      expect(response.headers.get('x-filegate-content-disposition')).to.equal(null);
      await head.arrayBuffer();
      expect(await lineOf('xa-full')).to.include({ status: 200, bytes: 0, delivery: 'x-accel', offloadedBytes: BIG.length, layer: 'media' });
    });

    const ranges: Array<[header: string, start: number, end: number]> = [
      ['bytes=100-1099', 100, 1099],
      ['bytes=0-0', 0, 0],
      ['bytes=300000-', 300000, BIG.length - 1],
      ['bytes=-500', BIG.length - 500, BIG.length - 1],
      ['bytes=307000-999999999', 307000, BIG.length - 1],
    ];
    for (const [header, start, end] of ranges) {
      it(`Range ${header}: 206 with the exact bytes`, async () => {
        const id = `xa-range-${start}-${end}`;
        const response = await get('big.bin', { Range: header, 'X-Request-Id': id });
        expect(response.status).to.equal(206);
        expect(response.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${BIG.length}`);
        expect((await bytesOf(response)).equals(BIG.subarray(start, end + 1))).to.equal(true);
        expectFileHeaders(response);
        expect(await lineOf(id)).to.include({ status: 206, delivery: 'x-accel', offloadedBytes: end - start + 1 });
      });
    }

    it('a Range under an If-Range that matches filegate\'s ETag or Last-Modified', async () => {
      const probe = await get('big.bin', { Range: 'bytes=0-0' });
      await probe.arrayBuffer();
      for (const validator of [probe.headers.get('etag')!, probe.headers.get('last-modified')!]) {
        const response = await get('big.bin', { Range: 'bytes=10-19', 'If-Range': validator });
        expect(response.status, validator).to.equal(206);
        expect((await bytesOf(response)).equals(BIG.subarray(10, 20))).to.equal(true);
      }
    });

    it('If-None-Match and If-Modified-Since that do not match: nginx neither answers 304 nor uses validators of its own', async () => {
      const response = await get('big.bin', { 'If-None-Match': '"other"', 'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT', 'X-Request-Id': 'xa-inm' });
      expect(response.status).to.equal(200);
      expect((await bytesOf(response)).equals(BIG)).to.equal(true);
      expect(await lineOf('xa-inm')).to.include({ delivery: 'x-accel' });
      // The ETag nginx would make itself ("mtime-size" in hex) is not filegate's: it must not win a 304.
      const stat = statSync(path.join(root, 'big.bin'));
      const nginxTag = `"${Math.floor(stat.mtimeMs / 1000).toString(16)}-${stat.size.toString(16)}"`;
      const own = await get('big.bin', { 'If-None-Match': nginxTag });
      expect(own.status).to.equal(200);
      expect((await bytesOf(own)).equals(BIG)).to.equal(true);
    });

    it('names with spaces, "%", "?", "#", "+", ";", non-ASCII and leading dots: each file\'s own bytes', async () => {
      for (const name of ODD_NAMES) {
        const response = await get(name);
        expect(response.status, name).to.equal(200);
        expect((await bytesOf(response)).equals(Buffer.concat([Buffer.from(name), BIG.subarray(0, 5000)])), name).to.equal(true);
        expectFileHeaders(response);
      }
    });

    it('an image served inline keeps the image policy filegate chose', async () => {
      const response = await get('photo.png', {}, '&disposition=inline');
      expect(response.status).to.equal(200);
      expect((await bytesOf(response)).equals(PNG)).to.equal(true);
      expectFileHeaders(response);
      expect(response.headers.get('content-disposition')).to.match(/^inline;/);
    });
  });

  describe('filegate answers itself', () => {
    it('a refused request is filegate\'s JSON error', async () => {
      await expectError(await fetch(`${nginx.url}/api/download?filepath=big.bin`), 401, 'UNAUTHORIZED');
      await expectError(await get('missing.bin'), 404, 'NOT_FOUND');
      await expectError(await get('../outside/secret.txt'), 403, 'PATH_NOT_ALLOWED');
    });

    it('304 and 412', async () => {
      const probe = await get('big.bin', { Range: 'bytes=0-0' });
      await probe.arrayBuffer();
      const etag = probe.headers.get('etag')!;
      const notModified = await get('big.bin', { 'If-None-Match': etag, 'X-Request-Id': 'xa-304' });
      expect(notModified.status).to.equal(304);
      expect(notModified.headers.get('etag')).to.equal(etag);
      expect(await lineOf('xa-304')).to.include({ status: 304, delivery: 'proxy' });
      const failed = await get('big.bin', { 'If-Match': '"other"' });
      await expectError(failed, 412, 'PRECONDITION_FAILED');
    });

    it('a GET whose If-Match or If-Unmodified-Since passes (nginx would answer 412 by its own validators)', async () => {
      const probe = await get('big.bin', { Range: 'bytes=0-0' });
      await probe.arrayBuffer();
      const conditions: Array<Record<string, string>> = [{ 'If-Match': probe.headers.get('etag')! }, { 'If-Unmodified-Since': probe.headers.get('last-modified')! }];
      for (const headers of conditions) {
        const response = await get('big.bin', headers);
        expect(response.status, JSON.stringify(headers)).to.equal(200);
        expect((await bytesOf(response)).equals(BIG)).to.equal(true);
      }
    });

    it('416, multipart ranges, and a Range under a stale If-Range', async () => {
      await expectError(await get('big.bin', { Range: `bytes=${BIG.length}-` }), 416, 'RANGE_NOT_SATISFIABLE');
      const multipart = await get('big.bin', { Range: 'bytes=0-9,100-109', 'X-Request-Id': 'xa-multi' });
      expect(multipart.status).to.equal(206);
      expect(multipart.headers.get('content-type')).to.match(/^multipart\/byteranges; boundary=/);
      const body = await bytesOf(multipart);
      expect(body.includes(BIG.subarray(100, 110))).to.equal(true);
      expect(await lineOf('xa-multi')).to.include({ delivery: 'proxy' });
      const stale = await get('big.bin', { Range: 'bytes=0-9', 'If-Range': '"stale"' });
      expect(stale.status).to.equal(200);
      expect((await bytesOf(stale)).equals(BIG)).to.equal(true);
    });

    it('HEAD, and an empty file', async () => {
      const head = await fetch(`${nginx.url}/api/download?filepath=big.bin`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      expect(head.status).to.equal(200);
      expectFileHeaders(head);
      expect(head.headers.get('content-length')).to.equal(String(BIG.length));
      const empty = await get('empty.txt', {}, '');
      expect(empty.status).to.equal(200);
      expect(await empty.text()).to.equal('');
    });
  });

  it('the internal location cannot be asked for directly', async () => {
    const response = await fetch(`${nginx.url}${LOCATION}big.bin`);
    expect(response.status).to.equal(404);
    expect((await bytesOf(response)).equals(BIG)).to.equal(false);
  });

  it('a folder swapped for a symlink out of the root after the check serves nothing outside it: filegate answers', async () => {
    tmp.file('media/swap-dir/file.txt', 'inside\n');
    hop.beforeAccel = () => {
      renameSync(path.join(root, 'swap-dir'), path.join(root, 'swap-dir.old'));
      symlinkSync(path.join(tmp.dir, 'outside', 'dir'), path.join(root, 'swap-dir'));
    };
    const response = await get('swap-dir/file.txt', { 'X-Request-Id': 'xa-swap-dir' });
    const body = await expectError(response, 403, 'PATH_NOT_ALLOWED');
    expect(JSON.stringify(body)).to.not.include(SECRET);
    expect(hop.beforeAccel).to.equal(null);
    // Both of filegate's answers, the hand-off and the fallback's, under one request id.
    const lines = server.logs.filter((entry) => entry.msg === 'request' && entry.reqId === 'xa-swap-dir');
    expect(lines.map((entry) => [entry.status, entry.delivery ?? null])).to.deep.equal([[200, 'x-accel'], [403, null]]);
  });

  it('a file swapped for a symlink out of the root after the check serves nothing outside it', async () => {
    tmp.file('media/swap-file.txt', 'inside\n');
    hop.beforeAccel = () => {
      rmSync(path.join(root, 'swap-file.txt'));
      symlinkSync(path.join(tmp.dir, 'outside', 'secret.txt'), path.join(root, 'swap-file.txt'));
    };
    const response = await get('swap-file.txt');
    const text = await response.clone().text();
    expect(text).to.not.include(SECRET);
    await expectError(response, 403, 'PATH_NOT_ALLOWED');
  });

  it('a file deleted after the check: filegate\'s 404, not nginx\'s page', async () => {
    tmp.file('media/deleted.txt', 'soon gone\n');
    hop.beforeAccel = () => rmSync(path.join(root, 'deleted.txt'));
    const response = await get('deleted.txt');
    await expectError(response, 404, 'NOT_FOUND');
    // Nothing of the hand-off's headers is left in the fallback's answer.
    expect(response.headers.get('content-disposition')).to.equal(null);
    expect(response.headers.get('cache-control')).to.equal('no-store');
  });

  it('nginx keeps its connections to filegate through bursts: bursts of 48 requests at once after the first open none', async () => {
    // Each burst's answers leave all 48 upstream connections idle at once;
    // nginx keeps as many as the block's `keepalive` allows and closes the
    // rest, to open them again for the next burst.
    const burst = async () => {
      hop.hold = 48;
      const answers = await Promise.all(Array.from({ length: 48 }, () => fetch(`${nginx.url}/healthz`)));
      for (const answer of answers) expect(answer.status).to.equal(200);
      await Promise.all(answers.map((answer) => answer.arrayBuffer()));
    };
    await burst();
    const before = hop.connections;
    await burst();
    await burst();
    expect(hop.connections - before).to.equal(0);
  });

  it('the metrics count x-accel responses and the bytes nginx was left to send', async () => {
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{delivery="x-accel"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { responses: value('filegate_offloaded_responses_total'), bytes: value('filegate_offloaded_body_bytes_total') };
    };
    const before = await read();
    const response = await get('big.bin', { 'X-Request-Id': 'xa-metrics' });
    await response.arrayBuffer();
    await lineOf('xa-metrics');
    const after = await read();
    expect(after.responses - before.responses).to.equal(1);
    expect(after.bytes - before.bytes).to.equal(BIG.length);
  });
});
