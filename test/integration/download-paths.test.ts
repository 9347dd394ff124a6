// Attack paths against GET /api/download, sent byte-exact, plus the hidden-file rules and a layer whose root comes and goes.

import { expect } from 'chai';
import http from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const OUTSIDE_MARKER = 'TOP-SECRET-OUTSIDE';
const SIBLING_MARKER = 'TOP-SECRET-SIBLING';
// A line every /etc/passwd holds: the absolute path must never reach the real file.
const PASSWD_MARKER = 'root:x:0:0';

interface RawResult {
  readonly status: number;
  readonly body: Buffer;
  /** A fresh Response over the buffered body, for the shared assertions. */
  response(): Response;
}

/** Sends `pathAndQuery` exactly as written (no URL parser re-encodes it) and buffers the answer. */
function rawRequest(base: string, pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResult> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path: pathAndQuery, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
        }
        resolve({ status, body, response: () => new Response(body.length === 0 ? null : body, { status, headers: responseHeaders }) });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

interface ErrorCase {
  readonly name: string;
  /** The query string after "?", sent byte for byte. */
  readonly query: string;
  readonly status: number;
  readonly code: string;
  /** Text the error message must contain. */
  readonly says?: string;
}

const deepPath = (levels: number) => Array.from({ length: levels }, () => 'd').join('/');
const longPath = Array.from({ length: 17 }, () => 'x'.repeat(250)).join('/');

const ERROR_CASES: readonly ErrorCase[] = [
  // Traversal, however it is encoded: decoded once, then refused as a ".." segment.
  { name: 'encoded slashes "..%2f..%2foutside.txt"', query: 'filepath=..%2f..%2foutside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'encoded dots and slash "%2e%2e%2foutside.txt"', query: 'filepath=%2e%2e%2foutside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'encoded dots, plain slash "%2e%2e/outside.txt"', query: 'filepath=%2e%2e/outside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'mixed-case encoding "%2E%2e%2Foutside.txt"', query: 'filepath=%2E%2e%2Foutside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'plain "../outside.txt"', query: 'filepath=../outside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'sibling folder sharing the root\'s prefix, encoded', query: 'filepath=..%2fdata-secret%2fsecret.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'sibling folder sharing the root\'s prefix, plain', query: 'filepath=../data-secret/secret.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'traversal after a real folder "a/../../outside.txt"', query: 'filepath=a/../../outside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  // Decoded exactly once: a double-encoded traversal is a literal, absent name.
  { name: 'double encoding "%252e%252e%252foutside.txt" is a literal name', query: 'filepath=%252e%252e%252foutside.txt', status: 404, code: 'NOT_FOUND' },
  // Overlong and invalid UTF-8 never decode to "." or "/".
  { name: 'overlong UTF-8 dots "%c0%ae%c0%ae%2foutside.txt"', query: 'filepath=%c0%ae%c0%ae%2foutside.txt', status: 400, code: 'BAD_REQUEST', says: 'UTF-8' },
  { name: 'three-byte overlong dot "%e0%80%ae"', query: 'filepath=%e0%80%ae%e0%80%ae%2foutside.txt', status: 400, code: 'BAD_REQUEST', says: 'UTF-8' },
  { name: 'overlong slash "..%c0%afoutside.txt"', query: 'filepath=..%c0%afoutside.txt', status: 400, code: 'BAD_REQUEST', says: 'UTF-8' },
  { name: 'broken escape "%zz"', query: 'filepath=%zz', status: 400, code: 'BAD_REQUEST' },
  { name: 'truncated escape "a.txt%"', query: 'filepath=a.txt%', status: 400, code: 'BAD_REQUEST' },
  // Look-alikes are plain names.
  { name: 'fullwidth dots "%ef%bc%8e%ef%bc%8e%2foutside.txt" are a plain name', query: 'filepath=%ef%bc%8e%ef%bc%8e%2foutside.txt', status: 404, code: 'NOT_FOUND' },
  { name: 'one-dot leader and division slash are plain names', query: 'filepath=%e2%80%a4%e2%80%a4%e2%88%95outside.txt', status: 404, code: 'NOT_FOUND' },
  // Absolute paths: one leading "/" means the layer root.
  { name: 'absolute "/etc/passwd" stays in the layer', query: 'filepath=/etc/passwd', status: 404, code: 'NOT_FOUND' },
  { name: 'absolute "%2fetc%2fpasswd" stays in the layer', query: 'filepath=%2fetc%2fpasswd', status: 404, code: 'NOT_FOUND' },
  { name: 'a leading "//etc/passwd" is an empty segment', query: 'filepath=//etc/passwd', status: 400, code: 'BAD_REQUEST' },
  { name: 'a leading "%2f%2fetc%2fpasswd" is an empty segment', query: 'filepath=%2f%2fetc%2fpasswd', status: 400, code: 'BAD_REQUEST' },
  // Windows forms.
  { name: 'backslash traversal "..%5coutside.txt"', query: 'filepath=..%5coutside.txt', status: 400, code: 'BAD_REQUEST', says: 'backslash' },
  { name: 'drive letter with backslash "C:%5cWindows"', query: 'filepath=C:%5cWindows', status: 400, code: 'BAD_REQUEST', says: 'backslash' },
  { name: 'drive letter with slashes "C:/Windows/win.ini" is a relative name', query: 'filepath=C:/Windows/win.ini', status: 404, code: 'NOT_FOUND' },
  { name: 'UNC-like "%5c%5chost%5cshare"', query: 'filepath=%5c%5chost%5cshare', status: 400, code: 'BAD_REQUEST' },
  // NUL and control characters.
  { name: 'NUL "%00"', query: 'filepath=%00', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'NUL before an extension "a.txt%00.png"', query: 'filepath=a.txt%00.png', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'line feed "%0a"', query: 'filepath=a%0a.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'carriage return "%0d"', query: 'filepath=a%0d.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'escape "%1b"', query: 'filepath=%1b%5b31ma.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'DEL "%7f"', query: 'filepath=a%7f.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'C1 control NEL "%c2%85"', query: 'filepath=a%c2%85.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  { name: 'tab "%09"', query: 'filepath=a%09.txt', status: 400, code: 'BAD_REQUEST', says: 'control' },
  // Sizes.
  { name: 'a segment of 256 bytes', query: `filepath=${'s'.repeat(256)}`, status: 400, code: 'BAD_REQUEST', says: '255 bytes' },
  { name: 'a segment of 256 bytes in multi-byte characters', query: `filepath=${'%c3%a9'.repeat(128)}`, status: 400, code: 'BAD_REQUEST', says: '255 bytes' },
  { name: 'a segment of 255 bytes is allowed (absent)', query: `filepath=${'s'.repeat(255)}`, status: 404, code: 'NOT_FOUND' },
  { name: 'a path over 4096 bytes', query: `filepath=${longPath}`, status: 400, code: 'BAD_REQUEST', says: '4096 bytes' },
  { name: '65 levels', query: `filepath=${deepPath(65)}`, status: 400, code: 'BAD_REQUEST', says: '64 levels' },
  { name: '64 levels are allowed (absent)', query: `filepath=${deepPath(64)}`, status: 404, code: 'NOT_FOUND' },
  // Dot segments, wherever they are: no normalisation.
  { name: '"."', query: 'filepath=.', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '"./a.txt"', query: 'filepath=./a.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '"a/./b"', query: 'filepath=a/./b', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '".."', query: 'filepath=..', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '"a/../b.txt" (would stay inside, still refused)', query: 'filepath=a/../b.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '"a/.."', query: 'filepath=a/..', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: '"/.." after the root slash', query: 'filepath=/..', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'encoded "%2e"', query: 'filepath=%2e', status: 403, code: 'PATH_NOT_ALLOWED' },
  { name: 'encoded "%2e%2e"', query: 'filepath=%2e%2e', status: 403, code: 'PATH_NOT_ALLOWED' },
  // Empty segments.
  { name: '"a//b"', query: 'filepath=a//b', status: 400, code: 'BAD_REQUEST', says: 'empty segment' },
  { name: 'a trailing slash "a/"', query: 'filepath=a/', status: 400, code: 'BAD_REQUEST', says: 'empty segment' },
  // Parameters.
  { name: 'an empty filepath', query: 'filepath=', status: 400, code: 'BAD_REQUEST', says: 'empty' },
  { name: 'a filepath with no "="', query: 'filepath', status: 400, code: 'BAD_REQUEST', says: 'empty' },
  { name: 'a missing filepath', query: 'fstype=OsFs', status: 400, code: 'BAD_REQUEST', says: 'required' },
  { name: 'no query at all', query: '', status: 400, code: 'BAD_REQUEST', says: 'required' },
  { name: 'a repeated filepath', query: 'filepath=a.txt&filepath=b.txt', status: 400, code: 'BAD_REQUEST', says: 'more than once' },
  { name: 'a repeated fstype', query: 'filepath=a.txt&fstype=OsFs&fstype=OsFs', status: 400, code: 'BAD_REQUEST', says: 'more than once' },
  { name: 'an unknown fstype', query: 'filepath=a.txt&fstype=nope', status: 400, code: 'UNKNOWN_FSTYPE', says: 'nope' },
  { name: 'an empty filepath with an unknown fstype is a bad parameter first', query: 'filepath=&fstype=nope', status: 400, code: 'BAD_REQUEST' },
  { name: 'an empty fstype', query: 'filepath=a.txt&fstype=', status: 400, code: 'BAD_REQUEST' },
  { name: 'a traversal in fstype', query: 'filepath=a.txt&fstype=..%2f..', status: 400, code: 'UNKNOWN_FSTYPE' },
];

for (const driver of DRIVERS) describe(`GET /api/download: attack paths (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let auth: Record<string, string>;
  let leaks: string[];

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    // Outside the layer root "data", and beside it under a name it is a string prefix of.
    void fx.file('outside.txt', `${OUTSIDE_MARKER}\n`);
    void fx.file('data-secret/secret.txt', `${SIBLING_MARKER}\n`);
    void fx.file('data/a.txt', 'in-root a\n');
    void fx.file('data/b.txt', 'in-root b\n');
    void fx.file('data/a/b', 'in-root a/b\n');
    void fx.file('data/with space.txt', 'with space\n');
    void fx.file('data/.env', 'HIDDEN=1\n');
    void fx.file('data/dir/.git/config', '[core]\n');
    void fx.file('data/dir/visible.txt', 'visible\n');
    await fx.flush();
    server = await startTestServer({
      layers: {
        OsFs: fx.layer('data'),
        denyHidden: fx.layer('data', { hidden: 'deny' }),
        allowHidden: fx.layer('data', { hidden: 'allow' }),
        // A root folder that comes and goes is the os driver's (an engine that comes and goes is an s3-only test).
        ...(driver === 'os' ? { later: fx.layer('later') } : {}),
      },
    });
    auth = { authorization: `Bearer ${await hsToken()}` };
    leaks = [OUTSIDE_MARKER, SIBLING_MARKER, PASSWD_MARKER, fx.local.dir];
  });

  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  const download = (query: string) => rawRequest(server.url, query === '' ? '/api/download' : `/api/download?${query}`, auth);

  describe('refused or absent, never outside the root', () => {
    for (const c of ERROR_CASES) {
      it(`${c.name} → ${c.status} ${c.code}`, async () => {
        const result = await download(c.query);
        for (const marker of leaks) expect(result.body.toString('latin1')).to.not.include(marker);
        const body = await expectError(result.response(), c.status, c.code, leaks);
        if (c.says !== undefined) expect(body.error).to.include(c.says);
      });
    }
  });

  describe('served', () => {
    const cases: Array<{ name: string; query: string; body: string }> = [
      { name: '"+" decodes to a space: with+space.txt', query: 'filepath=with+space.txt', body: 'with space\n' },
      { name: '"%20" decodes to a space', query: 'filepath=with%20space.txt', body: 'with space\n' },
      { name: 'a single leading "/" means the layer root', query: 'filepath=/a.txt', body: 'in-root a\n' },
      { name: 'an encoded leading "%2f" means the layer root', query: 'filepath=%2fa.txt', body: 'in-root a\n' },
      { name: 'a file beside a folder of the same stem', query: 'filepath=a/b', body: 'in-root a/b\n' },
      { name: 'parameters may come in any order, unknown ones ignored', query: 'x=1&fstype=OsFs&filepath=b.txt', body: 'in-root b\n' },
    ];
    for (const c of cases) {
      it(`${c.name} → 200`, async () => {
        const result = await download(c.query);
        expect(result.status, result.body.toString()).to.equal(200);
        expect(result.body.toString()).to.equal(c.body);
        for (const marker of leaks) expect(result.body.toString('latin1')).to.not.include(marker);
      });
    }
  });

  describe('hidden files', () => {
    const cases: Array<{ name: string; query: string; status: number; code?: string; body?: string }> = [
      { name: 'hidden "ignore": ".env" behaves as absent', query: 'filepath=.env', status: 404, code: 'NOT_FOUND' },
      { name: 'hidden "ignore": "dir/.git/config" behaves as absent', query: 'filepath=dir/.git/config', status: 404, code: 'NOT_FOUND' },
      { name: 'hidden "ignore": an absent hidden name is 404 too', query: 'filepath=.nothing', status: 404, code: 'NOT_FOUND' },
      { name: 'hidden "deny": ".env" is refused', query: 'filepath=.env&fstype=denyHidden', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'hidden "deny": "dir/.git/config" is refused', query: 'filepath=dir/.git/config&fstype=denyHidden', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'hidden "deny": a visible file is served', query: 'filepath=dir/visible.txt&fstype=denyHidden', status: 200, body: 'visible\n' },
      { name: 'hidden "allow": ".env" is served', query: 'filepath=.env&fstype=allowHidden', status: 200, body: 'HIDDEN=1\n' },
      { name: 'hidden "allow": "dir/.git/config" is served', query: 'filepath=dir/.git/config&fstype=allowHidden', status: 200, body: '[core]\n' },
      { name: 'hidden "allow": ".." is still refused', query: 'filepath=..&fstype=allowHidden', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'hidden "allow": "..%2foutside.txt" is still refused', query: 'filepath=..%2foutside.txt&fstype=allowHidden', status: 403, code: 'PATH_NOT_ALLOWED' },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const result = await download(c.query);
        for (const marker of leaks) expect(result.body.toString('latin1')).to.not.include(marker);
        if (c.code !== undefined) {
          await expectError(result.response(), c.status, c.code, leaks);
        } else {
          expect(result.status, result.body.toString()).to.equal(c.status);
          expect(result.body.toString()).to.equal(c.body);
        }
      });
    }
  });

  describe('layers', () => {
    it('an unknown fstype → 400 UNKNOWN_FSTYPE naming it', async () => {
      const body = await expectError((await download('filepath=a.txt&fstype=media')).response(), 400, 'UNKNOWN_FSTYPE', leaks);
      expect(body.error).to.include('media');
    });

    if (driver === 'os') it('a layer whose root does not exist → 412 FSTYPE_UNAVAILABLE, and it recovers once the root appears', async () => {
      const laterRoot = path.join(fx.local.dir, 'later');
      const query = 'filepath=hello.txt&fstype=later';
      await expectError((await download(query)).response(), 412, 'FSTYPE_UNAVAILABLE', leaks);
      // The check order puts an unreachable layer before path rules.
      await expectError((await download('filepath=..%2foutside.txt&fstype=later')).response(), 412, 'FSTYPE_UNAVAILABLE', leaks);

      mkdirSync(laterRoot);
      await expectError((await download(query)).response(), 404, 'NOT_FOUND', leaks);
      writeFileSync(path.join(laterRoot, 'hello.txt'), 'hello later\n');
      const served = await download(query);
      expect(served.status).to.equal(200);
      expect(served.body.toString()).to.equal('hello later\n');
      expect((await download('filepath=..%2foutside.txt&fstype=later')).status).to.equal(403);

      // Gone again: the layer says so instead of answering 404 for everything.
      rmSync(laterRoot, { recursive: true, force: true });
      await expectError((await download(query)).response(), 412, 'FSTYPE_UNAVAILABLE', leaks);
      mkdirSync(laterRoot);
      writeFileSync(path.join(laterRoot, 'hello.txt'), 'hello again\n');
      const again = await download(query);
      expect(again.status).to.equal(200);
      expect(again.body.toString()).to.equal('hello again\n');
    });
  });
});
