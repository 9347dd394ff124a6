// Conditional requests on /api/download (RFC 9110 §13): If-None-Match and If-Modified-Since → 304, If-Match and If-Unmodified-Since → 412, their precedence, and validators that follow the file.

import { expect } from 'chai';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const CONTENT = Buffer.from('first version of the report\n');
// On disk, a fixed modification time in the past (with a fraction of a second,
// which HTTP dates drop); an object store's time is the upload's and cannot be set.
const MTIME = new Date('2024-03-01T12:00:00.250Z');
const DAY = 86_400_000;
const httpDate = (ms: number) => new Date(ms).toUTCString();

/** Resolves once the clock has left the whole second of `ms`, so a new upload gets a later Last-Modified. */
async function pastTheSecondOf(ms: number): Promise<void> {
  const next = Math.floor(ms / 1000) * 1000 + 1000;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now()) + 50));
}

type Expectation = 200 | 304 | 412;

for (const driver of DRIVERS) describe(`GET /api/download: conditional requests (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let auth: Record<string, string>;
  let etag: string;
  let lastModified: string;
  /** Last-Modified in ms: the cases' dates are written relative to it. */
  let modifiedMs: number;

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    void fx.file('data/report.txt', CONTENT);
    void fx.file('data/changing.txt', 'version one\n');
    await fx.flush();
    if (driver === 'os') utimesSync(path.join(fx.local.dir, 'data/report.txt'), MTIME, MTIME);
    server = await startTestServer({ layers: { OsFs: fx.layer('data') } });
    auth = { authorization: `Bearer ${await hsToken()}` };
    const head = await download('report.txt', {}, 'HEAD');
    etag = head.headers.get('etag')!;
    lastModified = head.headers.get('last-modified')!;
    modifiedMs = Date.parse(lastModified);
    expect(etag).to.match(/^"[^"]+"$/);
    expect(lastModified).to.equal(httpDate(Math.floor((await fx.stat('data/report.txt')).mtimeMs / 1000) * 1000));
    if (driver === 'os') expect(lastModified).to.equal(httpDate(Math.floor(MTIME.getTime() / 1000) * 1000));
  });

  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  const download = (filepath: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${server.url}/api/download?${new URLSearchParams({ filepath })}`, { method, headers: { ...auth, ...headers } });

  /** Checks a 304: validators and Cache-Control, nothing about content, no body. */
  async function expectNotModified(response: Response, expectedEtag: string): Promise<void> {
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.status).to.equal(304);
    expect(response.headers.get('etag')).to.equal(expectedEtag);
    expect(response.headers.get('cache-control')).to.equal('private, no-cache');
    expect(response.headers.get('x-request-id')).to.be.a('string').and.not.equal('');
    for (const name of ['content-type', 'content-length', 'content-disposition', 'content-range', 'transfer-encoding']) {
      expect(response.headers.get(name), `${name} on a 304`).to.equal(null);
    }
    expect(body.length).to.equal(0);
  }

  /** Checks a whole-file 200 (or, for HEAD, its headers without a body). */
  async function expectFull(response: Response, method: string): Promise<void> {
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.status).to.equal(200);
    expectFileHeaders(response);
    expect(response.headers.get('etag')).to.equal(etag);
    expect(response.headers.get('content-length')).to.equal(String(CONTENT.length));
    expect(body.equals(method === 'HEAD' ? Buffer.alloc(0) : CONTENT)).to.equal(true);
  }

  const cases: Array<{ name: string; headers: () => Record<string, string>; status: Expectation }> = [
    // If-None-Match: weak comparison (RFC 9110 §13.1.2).
    { name: 'If-None-Match with the current ETag', headers: () => ({ 'if-none-match': etag }), status: 304 },
    { name: 'If-None-Match with the current ETag marked weak (W/)', headers: () => ({ 'if-none-match': `W/${etag}` }), status: 304 },
    { name: 'If-None-Match "*"', headers: () => ({ 'if-none-match': '*' }), status: 304 },
    { name: 'If-None-Match with a list holding the current ETag', headers: () => ({ 'if-none-match': `"other-1", ${etag}` }), status: 304 },
    // §5.6.1: empty elements of a list are ignored.
    { name: 'If-None-Match with an empty list element before the current ETag', headers: () => ({ 'if-none-match': `"other-1", , ${etag}` }), status: 304 },
    { name: 'If-None-Match with another ETag', headers: () => ({ 'if-none-match': '"other-1"' }), status: 200 },
    { name: 'If-None-Match with the ETag unquoted (malformed)', headers: () => ({ 'if-none-match': etag.slice(1, -1) }), status: 200 },
    // If-Modified-Since (§13.1.3).
    { name: 'If-Modified-Since at Last-Modified', headers: () => ({ 'if-modified-since': lastModified }), status: 304 },
    { name: 'If-Modified-Since a day after Last-Modified', headers: () => ({ 'if-modified-since': httpDate(modifiedMs + DAY) }), status: 304 },
    { name: 'If-Modified-Since a day before Last-Modified', headers: () => ({ 'if-modified-since': httpDate(modifiedMs - DAY) }), status: 200 },
    { name: 'If-Modified-Since one second before Last-Modified', headers: () => ({ 'if-modified-since': httpDate(modifiedMs - 1000) }), status: 200 },
    { name: 'If-Modified-Since malformed ("not a date")', headers: () => ({ 'if-modified-since': 'not a date' }), status: 200 },
    // §13.1.3: a value that is not an HTTP-date (IMF-fixdate, RFC 850 or asctime) MUST be ignored.
    { name: 'If-Modified-Since malformed (a bare year, "3000")', headers: () => ({ 'if-modified-since': '3000' }), status: 200 },
    { name: 'If-Modified-Since malformed (ISO 8601, not an HTTP-date)', headers: () => ({ 'if-modified-since': '2999-01-01T00:00:00Z' }), status: 200 },
    // §13.2.2: If-None-Match, when present, makes If-Modified-Since ignored.
    { name: 'If-None-Match not matching with If-Modified-Since at Last-Modified', headers: () => ({ 'if-none-match': '"other-1"', 'if-modified-since': lastModified }), status: 200 },
    { name: 'If-None-Match matching with If-Modified-Since a day before', headers: () => ({ 'if-none-match': etag, 'if-modified-since': httpDate(modifiedMs - DAY) }), status: 304 },
    // If-Match: strong comparison (§13.1.1).
    { name: 'If-Match with the current ETag', headers: () => ({ 'if-match': etag }), status: 200 },
    { name: 'If-Match "*"', headers: () => ({ 'if-match': '*' }), status: 200 },
    { name: 'If-Match with a list holding the current ETag', headers: () => ({ 'if-match': `"other-1", ${etag}` }), status: 200 },
    { name: 'If-Match with a stale ETag', headers: () => ({ 'if-match': '"stale-1"' }), status: 412 },
    { name: 'If-Match with the current ETag marked weak (W/)', headers: () => ({ 'if-match': `W/${etag}` }), status: 412 },
    // If-Unmodified-Since (§13.1.4).
    { name: 'If-Unmodified-Since a day before Last-Modified', headers: () => ({ 'if-unmodified-since': httpDate(modifiedMs - DAY) }), status: 412 },
    { name: 'If-Unmodified-Since at Last-Modified', headers: () => ({ 'if-unmodified-since': lastModified }), status: 200 },
    { name: 'If-Unmodified-Since a day after Last-Modified', headers: () => ({ 'if-unmodified-since': httpDate(modifiedMs + DAY) }), status: 200 },
    { name: 'If-Unmodified-Since malformed ("not a date")', headers: () => ({ 'if-unmodified-since': 'not a date' }), status: 200 },
    { name: 'If-Unmodified-Since malformed (a bare number, "1")', headers: () => ({ 'if-unmodified-since': '1' }), status: 200 },
    // §13.2.2: If-Match first, and when present it makes If-Unmodified-Since ignored.
    { name: 'If-Match current with If-Unmodified-Since a day before', headers: () => ({ 'if-match': etag, 'if-unmodified-since': httpDate(modifiedMs - DAY) }), status: 200 },
    { name: 'If-Match stale with If-None-Match current (412 comes first)', headers: () => ({ 'if-match': '"stale-1"', 'if-none-match': etag }), status: 412 },
    { name: 'If-Match current with If-None-Match current', headers: () => ({ 'if-match': etag, 'if-none-match': etag }), status: 304 },
  ];

  for (const method of ['GET', 'HEAD']) {
    describe(method, () => {
      for (const c of cases) {
        it(`${c.name} → ${c.status}`, async () => {
          const response = await download('report.txt', c.headers(), method);
          if (c.status === 304) {
            await expectNotModified(response, etag);
          } else if (c.status === 200) {
            await expectFull(response, method);
          } else if (method === 'GET') {
            await expectError(response, 412, 'PRECONDITION_FAILED', [fx.local.dir]);
          } else {
            expect(response.status).to.equal(412);
            expect((await response.arrayBuffer()).byteLength).to.equal(0);
          }
        });
      }
    });
  }

  it('a 412 message names the file the client asked for', async () => {
    const response = await download('report.txt', { 'if-match': '"stale-1"' });
    const body = await expectError(response, 412, 'PRECONDITION_FAILED', [fx.local.dir]);
    expect(body.error).to.include('report.txt');
  });

  it('a precondition is decided before the Range: If-None-Match current with a Range → 304', async () => {
    await expectNotModified(await download('report.txt', { 'if-none-match': etag, range: 'bytes=0-3' }), etag);
  });

  it('a 304 is logged with status 304 in the access log', async () => {
    const requestId = 'conditional-304-log';
    const response = await download('report.txt', { 'if-none-match': etag, 'x-request-id': requestId });
    await expectNotModified(response, etag);
    const line = await waitForAccessLine(server, requestId);
    expect(line).to.include({ status: 304, method: 'GET', bytes: 0, route: '/api/download' });
    expect(line).to.not.have.property('aborted');
  });

  it('a rewritten file gets a new ETag, and the old ETag and date no longer give 304', async () => {
    const file = path.join(fx.local.dir, 'data/changing.txt');
    const old = new Date('2024-01-01T00:00:00Z');
    if (driver === 'os') utimesSync(file, old, old);
    const first = await download('changing.txt');
    await first.arrayBuffer();
    const oldEtag = first.headers.get('etag')!;
    const oldLastModified = first.headers.get('last-modified')!;
    await expectNotModified(await download('changing.txt', { 'if-none-match': oldEtag }), oldEtag);

    // Same length, other bytes, a later time: only the validators can tell.
    // An object's time is its upload's, in whole seconds: the rewrite waits for the next one.
    if (driver === 's3') await pastTheSecondOf(Date.parse(oldLastModified));
    await fx.file('data/changing.txt', 'version two\n');
    const later = new Date('2024-02-01T00:00:00Z');
    if (driver === 'os') utimesSync(file, later, later);

    const byEtag = await download('changing.txt', { 'if-none-match': oldEtag });
    expect(byEtag.status).to.equal(200);
    expect(await byEtag.text()).to.equal('version two\n');
    expect(byEtag.headers.get('etag')).to.match(/^"[^"]+"$/).and.not.equal(oldEtag);
    expect(Date.parse(byEtag.headers.get('last-modified')!)).to.be.above(Date.parse(oldLastModified));
    if (driver === 'os') expect(byEtag.headers.get('last-modified')).to.equal(httpDate(later.getTime()));

    const byDate = await download('changing.txt', { 'if-modified-since': oldLastModified });
    expect(byDate.status).to.equal(200);
    expect(await byDate.text()).to.equal('version two\n');

    const byIfMatch = await download('changing.txt', { 'if-match': oldEtag });
    await expectError(byIfMatch, 412, 'PRECONDITION_FAILED');

    const newEtag = byEtag.headers.get('etag')!;
    await expectNotModified(await download('changing.txt', { 'if-none-match': newEtag }), newEtag);
  });
});
