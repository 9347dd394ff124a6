// Response headers of /api/download (types, disposition, file names, HEAD, request ids), aborted transfers, and the service routes.

import { expect } from 'chai';
import http from 'node:http';
import { mkdirSync, rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { descriptorsOn } from '../helpers/fixtures.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BINARY = Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7 + 3) % 256));

/** The decoded `filename*` value of a Content-Disposition header, and its ASCII fallback. */
function parseDisposition(value: string): { type: string; fallback: string; filename: string } {
  const match = /^(attachment|inline); filename="([^"]*)"; filename\*=UTF-8''([^;\s]*)$/.exec(value);
  expect(match, `Content-Disposition ${JSON.stringify(value)}`).to.not.equal(null);
  return { type: match![1]!, fallback: match![2]!, filename: decodeURIComponent(match![3]!) };
}

// Per request, or hop-by-hop: undici asks for "Connection: close" after every HEAD (RFC 9110 §7.6.1).
const UNCOMPARED = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

/** A response's headers that HEAD and GET must share. */
function comparableHeaders(response: Response): Array<[string, string]> {
  return [...response.headers.entries()].filter(([name]) => !UNCOMPARED.has(name)).sort();
}

for (const driver of DRIVERS) describe(`GET /api/download: headers (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let token: string;
  let auth: Record<string, string>;
  // Large enough that an abort comes long before the end: a sparse file on
  // disk, real bytes in the test engine (which keeps them in memory).
  const BIG = driver === 'os' ? 64 * 1024 ** 2 : 16 * 1024 ** 2;

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    void fx.file('data/hello.txt', 'hello world\n');
    void fx.file('data/binary.bin', BINARY);
    void fx.file('data/data.json', '{"a":1}\n');
    void fx.file('data/file.zzqx', 'unknown type\n');
    void fx.file('data/image.png', Buffer.from('89504e470d0a1a0a0000', 'hex'));
    void fx.file('data/song.mp3', 'ID3 not really audio\n');
    void fx.file('data/clip.mp4', 'not really a video\n');
    void fx.file('data/doc.pdf', '%PDF-1.4 not really\n');
    void fx.file('data/pic.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n');
    void fx.file('data/page.html', '<script>alert(1)</script>\n');
    void fx.file('data/feed.xml', '<?xml version="1.0"?><a/>\n');
    void fx.file('data/app.js', 'alert(1)\n');
    void fx.file('data/names/say "hi".txt', 'quote\n');
    void fx.file('data/names/back\\slash.txt', 'backslash\n');
    void fx.file('data/names/日本語.txt', 'japanese\n');
    void fx.file('data/names/é.txt', 'e acute\n');
    void fx.file('data/names/invoice\u202Egpj.exe', 'not a picture\n');
    void fx.file('data/names/🎉 party.txt', 'emoji\n');
    void fx.file('data/names/with spaces in name.txt', 'spaces\n');
    void fx.file('data/names/100% done %41 %zz.txt', 'percent\n');
    void fx.file("data/names/it's (1) *.txt", 'apostrophe\n');
    void fx.file('data/names/semi;colon,comma=eq.txt', 'separators\n');
    void fx.file('data/names/line\nbreak.txt', 'newline\n');
    void fx.file('data/names/carriage\rreturn.txt', 'carriage return\n');
    if (driver === 'os') truncateSync(fx.local.file('data/big.bin', ''), BIG);
    else void fx.file('data/big.bin', Buffer.alloc(BIG, 1));
    await fx.flush();
    server = await startTestServer({ layers: { OsFs: fx.layer('data', { maxFileSize: '1GB' }) } });
    token = await hsToken();
    auth = { authorization: `Bearer ${token}` };
  });

  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  const downloadUrl = (filepath: string, extra: Record<string, string> = {}) =>
    `${server.url}/api/download?${new URLSearchParams({ filepath, ...extra })}`;
  const download = (filepath: string, extra: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(downloadUrl(filepath, extra), { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });

  describe('a file response', () => {
    it('a 200 GET carries every transfer header and a byte-exact body', async () => {
      const response = await download('binary.bin');
      expect(response.status).to.equal(200);
      expectFileHeaders(response);
      expect(response.headers.get('content-length')).to.equal(String(BINARY.length));
      expect(Buffer.from(await response.arrayBuffer()).equals(BINARY)).to.equal(true);
    });

    it('HEAD returns the same headers as GET and no body', async () => {
      const get = await download('binary.bin');
      await get.arrayBuffer();
      const head = await download('binary.bin', {}, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expectFileHeaders(head);
      expect(comparableHeaders(head)).to.deep.equal(comparableHeaders(get));
      expect((await head.arrayBuffer()).byteLength).to.equal(0);
    });

    it('HEAD of an absent file answers as GET does: 404 NOT_FOUND, same headers, no body', async () => {
      const get = await download('nope.txt');
      const getBody = (await get.json()) as { code: string };
      expect(getBody.code).to.equal('NOT_FOUND');
      const head = await download('nope.txt', {}, { method: 'HEAD' });
      expect(head.status).to.equal(404);
      expect(head.headers.get('x-request-id')).to.be.a('string').and.not.equal('');
      expect(comparableHeaders(head)).to.deep.equal(comparableHeaders(get));
      expect((await head.arrayBuffer()).byteLength).to.equal(0);
    });
  });

  describe('Content-Type', () => {
    const cases: Array<[filepath: string, contentType: string]> = [
      ['hello.txt', 'text/plain; charset=utf-8'],
      ['data.json', 'application/json; charset=utf-8'],
      ['file.zzqx', 'application/octet-stream'],
      ['binary.bin', 'application/octet-stream'],
      ['image.png', 'image/png'],
      ['clip.mp4', 'video/mp4'],
      ['doc.pdf', 'application/pdf'],
      ['page.html', 'text/html; charset=utf-8'],
    ];
    for (const [filepath, contentType] of cases) {
      it(`${filepath} → ${contentType}`, async () => {
        const response = await download(filepath);
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-type')).to.equal(contentType);
        await response.arrayBuffer();
      });
    }
  });

  describe('Content-Disposition type', () => {
    const STRICT = "default-src 'none'; sandbox";
    const IMAGE = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
    const MEDIA = "default-src 'none'; media-src 'self'; sandbox allow-same-origin";
    // The policy follows what is served: widened only for an inline image, audio or video (SPEC, Transfer semantics).
    const cases: Array<{ filepath: string; disposition?: string; expected: 'inline' | 'attachment'; policy: string }> = [
      { filepath: 'image.png', disposition: 'inline', expected: 'inline', policy: IMAGE },
      { filepath: 'song.mp3', disposition: 'inline', expected: 'inline', policy: MEDIA },
      { filepath: 'clip.mp4', disposition: 'inline', expected: 'inline', policy: MEDIA },
      { filepath: 'doc.pdf', disposition: 'inline', expected: 'inline', policy: STRICT },
      { filepath: 'hello.txt', disposition: 'inline', expected: 'inline', policy: STRICT },
      // Active types run in the browser: always an attachment.
      { filepath: 'pic.svg', disposition: 'inline', expected: 'attachment', policy: STRICT },
      { filepath: 'page.html', disposition: 'inline', expected: 'attachment', policy: STRICT },
      { filepath: 'feed.xml', disposition: 'inline', expected: 'attachment', policy: STRICT },
      { filepath: 'app.js', disposition: 'inline', expected: 'attachment', policy: STRICT },
      { filepath: 'file.zzqx', disposition: 'inline', expected: 'attachment', policy: STRICT },
      { filepath: 'hello.txt', expected: 'attachment', policy: STRICT },
      { filepath: 'image.png', expected: 'attachment', policy: STRICT },
      { filepath: 'image.png', disposition: 'attachment', expected: 'attachment', policy: STRICT },
      { filepath: 'clip.mp4', disposition: 'attachment', expected: 'attachment', policy: STRICT },
    ];
    for (const c of cases) {
      it(`${c.filepath} with ${c.disposition === undefined ? 'no disposition' : `disposition=${c.disposition}`} → ${c.expected}, ${c.policy}`, async () => {
        const response = await download(c.filepath, c.disposition === undefined ? {} : { disposition: c.disposition });
        expect(response.status).to.equal(200);
        expectFileHeaders(response);
        expect(parseDisposition(response.headers.get('content-disposition')!).type).to.equal(c.expected);
        expect(response.headers.get('content-security-policy')).to.equal(c.policy);
        await response.arrayBuffer();
      });
    }

    const bad: Array<[name: string, query: string]> = [
      ['disposition=bogus', 'filepath=hello.txt&disposition=bogus'],
      ['an empty disposition', 'filepath=hello.txt&disposition='],
      ['a repeated disposition', 'filepath=hello.txt&disposition=inline&disposition=attachment'],
    ];
    for (const [name, query] of bad) {
      it(`${name} → 400 BAD_REQUEST`, async () => {
        const body = await expectError(await fetch(`${server.url}/api/download?${query}`, { headers: auth }), 400, 'BAD_REQUEST');
        expect(body.error).to.include('disposition');
      });
    }
  });

  describe('file names in Content-Disposition', () => {
    const names = [
      'say "hi".txt',
      '日本語.txt',
      'é.txt',
      '🎉 party.txt',
      'with spaces in name.txt',
      '100% done %41 %zz.txt',
      "it's (1) *.txt",
      'semi;colon,comma=eq.txt',
    ];
    for (const name of names) {
      it(`${JSON.stringify(name)}: the header keeps its shape and filename* decodes to the name`, async () => {
        const response = await download(`names/${name}`);
        expect(response.status).to.equal(200);
        expectFileHeaders(response);
        const header = response.headers.get('content-disposition')!;
        expect(header).to.not.match(/[\r\n]/);
        const parsed = parseDisposition(header);
        expect(parsed.type).to.equal('attachment');
        expect(parsed.filename).to.equal(name);
        expect(parsed.fallback).to.match(/^[\x20-\x7e]*$/).and.not.match(/["\\%]/);
        expect(parsed.fallback.length).to.be.greaterThan(0);
        await response.arrayBuffer();
      });
    }

    it('regression: a right-to-left override cannot make "invoice\\u202Egpj.exe" display as "invoiceexe.jpg": it is saved as "invoice_gpj.exe"', async () => {
      const response = await download('names/invoice\u202Egpj.exe');
      expect(response.status).to.equal(200);
      const parsed = parseDisposition(response.headers.get('content-disposition')!);
      expect(parsed.filename).to.equal('invoice_gpj.exe');
      expect(parsed.fallback).to.equal('invoice_gpj.exe');
      expect(await response.text()).to.equal('not a picture\n');
    });

    const unaddressable: Array<[name: string, query: string]> = [
      ['a newline', 'filepath=names%2Fline%0Abreak.txt'],
      ['a carriage return', 'filepath=names%2Fcarriage%0Dreturn.txt'],
      ['a backslash', 'filepath=names%2Fback%5Cslash.txt'],
    ];
    for (const [what, query] of unaddressable) {
      it(`a file whose name holds ${what} cannot be addressed (400), and the server keeps serving`, async () => {
        const refused = await fetch(`${server.url}/api/download?${query}`, { headers: auth });
        const body = await expectError(refused, 400, 'BAD_REQUEST');
        expect(body.error).to.not.match(/[\r\n]/);
        expect(refused.headers.get('content-disposition')).to.equal(null);
        const next = await download('hello.txt');
        expect(next.status).to.equal(200);
        expect(await next.text()).to.equal('hello world\n');
      });
    }
  });

  describe('X-Request-Id', () => {
    it('an incoming plain X-Request-Id is echoed back', async () => {
      const response = await download('hello.txt', {}, { headers: { 'x-request-id': 'caller-req.42:abc' } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('x-request-id')).to.equal('caller-req.42:abc');
      await response.arrayBuffer();
    });

    it('an incoming X-Request-Id is echoed on an error too', async () => {
      const response = await download('nope.txt', {}, { headers: { 'x-request-id': 'caller-err-1' } });
      expect(response.headers.get('x-request-id')).to.equal('caller-err-1');
      await expectError(response, 404, 'NOT_FOUND');
    });

    const hostile: Array<[name: string, value: string]> = [
      ['too long (129 characters)', 'a'.repeat(129)],
      ['with spaces', 'id with spaces'],
      ['with a quote and angle brackets', '"><script>'],
      ['with a non-ASCII byte', 'caf\u00e9'],
    ];
    for (const [name, value] of hostile) {
      it(`a hostile X-Request-Id ${name} is replaced`, async () => {
        const response = await download('hello.txt', {}, { headers: { 'x-request-id': value } });
        expect(response.status).to.equal(200);
        const id = response.headers.get('x-request-id');
        expect(id).to.not.equal(value);
        expect(id).to.match(UUID);
        await response.arrayBuffer();
      });
    }

    it('two requests without one get different ids', async () => {
      const [first, second] = await Promise.all([download('hello.txt'), download('hello.txt')]);
      await Promise.all([first!.arrayBuffer(), second!.arrayBuffer()]);
      expect(first!.headers.get('x-request-id')).to.match(UUID);
      expect(first!.headers.get('x-request-id')).to.not.equal(second!.headers.get('x-request-id'));
    });

    const errors: Array<{ name: string; request: () => Promise<Response>; status: number; code: string }> = [
      { name: 'no token', request: () => fetch(downloadUrl('hello.txt')), status: 401, code: 'UNAUTHORIZED' },
      { name: 'a bad parameter', request: () => download('a//b'), status: 400, code: 'BAD_REQUEST' },
      { name: 'an unknown fstype', request: () => download('hello.txt', { fstype: 'nope' }), status: 400, code: 'UNKNOWN_FSTYPE' },
      { name: 'a dot segment', request: () => download('../hello.txt'), status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a folder', request: () => download('names'), status: 403, code: 'NOT_A_FILE' },
      { name: 'an absent file', request: () => download('nope.txt'), status: 404, code: 'NOT_FOUND' },
      { name: 'an unknown route', request: () => fetch(`${server.url}/nope`), status: 404, code: 'NOT_FOUND' },
      { name: 'a method not served', request: () => fetch(`${server.url}/api/download`, { method: 'POST' }), status: 405, code: 'METHOD_NOT_ALLOWED' },
    ];
    for (const c of errors) {
      it(`every error carries an X-Request-Id and no file headers: ${c.name} → ${c.status}`, async () => {
        const response = await c.request();
        expect(response.headers.get('content-disposition')).to.equal(null);
        expect(response.headers.get('etag')).to.equal(null);
        await expectError(response, c.status, c.code);
      });
    }
  });

  describe('a client that aborts mid-download', () => {
    it('does not stop the server, releases the descriptor and is logged as aborted', async function () {
      this.timeout(15000);
      const { hostname, port } = new URL(server.url);
      const requestId = 'abort-test-1';
      const received = await new Promise<number>((resolve, reject) => {
        const request = http.get({ host: hostname, port, path: '/api/download?filepath=big.bin', headers: { ...auth, 'x-request-id': requestId } }, (res) => {
          expect(res.statusCode).to.equal(200);
          expect(res.headers['content-length']).to.equal(String(BIG));
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes >= 256 * 1024) {
              request.destroy();
              resolve(bytes);
            }
          });
          res.on('end', () => reject(new Error('the whole file arrived before the abort')));
        });
        request.on('error', (error) => {
          if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
        });
      });
      expect(received).to.be.below(BIG);

      const line = await waitForAccessLine(server, requestId);
      expect(line.status).to.equal(200);
      expect(line.aborted).to.equal(true);
      expect(line.bytes).to.be.a('number').and.below(BIG);

      const next = await download('hello.txt');
      expect(next.status).to.equal(200);
      expect(await next.text()).to.equal('hello world\n');

      // SPEC: a client that disconnects releases the descriptor at once (a descriptor is the os driver's).
      if (driver !== 'os') return;
      const bigPath = path.join(fx.local.dir, 'data', 'big.bin');
      const deadline = Date.now() + 1000;
      while (descriptorsOn(bigPath) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(descriptorsOn(bigPath)).to.equal(0);
    });

    it('a complete download is logged with its bytes and without aborted', async () => {
      const response = await download('binary.bin', {}, { headers: { 'x-request-id': 'complete-test-1' } });
      await response.arrayBuffer();
      const line = await waitForAccessLine(server, 'complete-test-1');
      expect(line.status).to.equal(200);
      expect(line.bytes).to.equal(BINARY.length);
      expect(line).to.not.have.property('aborted');
    });
  });

  describe('routes', () => {
    it('an unknown route → 404 NOT_FOUND', async () => {
      await expectError(await fetch(`${server.url}/api/nope`, { headers: auth }), 404, 'NOT_FOUND');
      await expectError(await fetch(`${server.url}/api/download/extra?filepath=hello.txt`, { headers: auth }), 404, 'NOT_FOUND');
    });

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      it(`${method} /api/download → 405 METHOD_NOT_ALLOWED with Allow listing GET and HEAD`, async () => {
        const response = await fetch(`${server.url}/api/download?filepath=hello.txt`, { method, headers: auth });
        const allow = (response.headers.get('allow') ?? '').split(/\s*,\s*/);
        expect(allow).to.include.members(['GET', 'HEAD']);
        expect(allow).to.not.include(method);
        await expectError(response, 405, 'METHOD_NOT_ALLOWED');
      });
    }

    it('GET /healthz → 200 without a token', async () => {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('x-request-id')).to.be.a('string').and.not.equal('');
      expect(await response.json()).to.deep.equal({ status: 'ok' });
    });

    it('GET /readyz → 200 while every layer root is reachable', async () => {
      const response = await fetch(`${server.url}/readyz`);
      expect(response.status).to.equal(200);
      expect(((await response.json()) as { status: string }).status).to.equal('ready');
    });

    // A folder that goes away is the os driver's; an engine that goes away is an s3-only test.
    if (driver === 'os') it('GET /readyz → 503 UNAVAILABLE when a layer root is removed, and 200 once it is back', async () => {
      const spareRoot = fx.local.folder('spare');
      const other = await startTestServer({ layers: { OsFs: fx.layer('data'), spare: { root: spareRoot } } });
      try {
        expect((await fetch(`${other.url}/readyz`)).status).to.equal(200);
        rmSync(spareRoot, { recursive: true, force: true });
        const down = await fetch(`${other.url}/readyz`);
        expect(down.headers.get('retry-after')).to.match(/^\d+$/);
        const body = await expectError(down, 503, 'UNAVAILABLE', [spareRoot]);
        expect(body.error).to.include('spare');
        mkdirSync(spareRoot);
        expect((await fetch(`${other.url}/readyz`)).status).to.equal(200);
      } finally {
        await other.close();
      }
    });
  });
});
