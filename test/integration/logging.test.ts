// The access log of GET /api/download: one JSON line per request with its fields, request ids, tokens and signatures kept out, and control characters unable to split or forge a line.

import { expect } from 'chai';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const FILE_SIZE = 1500;
const MEDIA_SIZE = 321;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('access log (GET /api/download)', () => {
  let files: TempDir;
  let media: TempDir;
  let server: TestServer;

  before(async () => {
    files = tempDir('filegate-log-');
    files.file('a.txt', 'a'.repeat(FILE_SIZE));
    media = tempDir('filegate-log-media-');
    media.file('m.txt', 'm'.repeat(MEDIA_SIZE));
    server = await startTestServer({ layers: { OsFs: { root: files.dir }, media: { root: media.dir } } });
  });

  after(async () => {
    await server?.close();
    files?.remove();
    media?.remove();
  });

  /** Sends GET /api/download?`query`, reads the whole body, and returns the response with its access line. */
  async function request(query: string, token: string | null, headers: Record<string, string> = {}) {
    const auth: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
    const response = await fetch(`${server.url}/api/download?${query}`, { headers: { ...auth, ...headers } });
    const body = await response.text();
    const reqId = response.headers.get('x-request-id');
    expect(reqId, 'X-Request-Id').to.be.a('string').and.not.equal('');
    const line = await waitForAccessLine(server, reqId!);
    return { response, body, reqId: reqId!, line };
  }

  function accessLines(reqId: string): Array<Record<string, unknown>> {
    return server.logs.filter((entry) => entry.msg === 'request' && entry.reqId === reqId);
  }

  /** Asserts that no part of a JWT (its payload or signature) is in the raw log text. */
  function expectTokenAbsent(token: string): void {
    const raw = server.rawLogs();
    expect(raw).to.not.include(token);
    const [, payload, signature] = token.split('.') as [string, string, string];
    expect(raw, 'token payload').to.not.include(payload);
    expect(raw, 'token signature').to.not.include(signature);
  }

  describe('fields', () => {
    it('writes one access line with reqId, method, route, status, bytes, durationMs, subject and layer', async () => {
      const { response, body, reqId, line } = await request('filepath=a.txt', await hsToken({ sub: 'alice' }));
      expect(response.status).to.equal(200);
      expect(body.length).to.equal(FILE_SIZE);
      expect(line).to.include({
        msg: 'request',
        reqId,
        method: 'GET',
        route: '/api/download',
        url: '/api/download?filepath=a.txt',
        status: 200,
        bytes: FILE_SIZE,
        subject: 'alice',
        layer: 'OsFs',
      });
      expect(line.durationMs).to.be.a('number').and.at.least(0);
      expect(line).to.not.have.property('code');
      expect(line).to.not.have.property('aborted');
      expect(accessLines(reqId)).to.have.length(1);
    });

    it('logs the layer named by fstype and the bytes of that file', async () => {
      const { response, line } = await request('filepath=m.txt&fstype=media', await hsToken({ sub: 'bob' }));
      expect(response.status).to.equal(200);
      expect(line).to.include({ status: 200, bytes: MEDIA_SIZE, subject: 'bob', layer: 'media' });
    });

    it('writes exactly one access line for each of several requests, successful or not', async () => {
      const token = await hsToken({ sub: 'carol' });
      const outcomes = await Promise.all([
        request('filepath=a.txt', token),
        request('filepath=missing.txt', token),
        request('filepath=a.txt', null),
        request('filepath=..%2Fx', token),
        request('filepath=m.txt&fstype=media', token),
      ]);
      const ids = outcomes.map((outcome) => outcome.reqId);
      expect(new Set(ids).size, 'distinct request ids').to.equal(ids.length);
      for (const id of ids) expect(accessLines(id), `lines for ${id}`).to.have.length(1);
      expect(outcomes.map((outcome) => outcome.line.status)).to.deep.equal([200, 404, 401, 403, 200]);
    });

    it('gives the response an X-Request-Id equal to the logged reqId (a fresh UUID when none is sent)', async () => {
      const { reqId, line } = await request('filepath=a.txt', await hsToken());
      expect(reqId).to.match(UUID);
      expect(line.reqId).to.equal(reqId);
    });

    it('keeps an incoming plain X-Request-Id and logs it', async () => {
      const { reqId, line } = await request('filepath=a.txt', await hsToken(), { 'X-Request-Id': 'upstream-7f3a.42' });
      expect(reqId).to.equal('upstream-7f3a.42');
      expect(line.reqId).to.equal('upstream-7f3a.42');
    });

    it('replaces an incoming X-Request-Id that is not plain (spaces, quotes, over 128 characters)', async () => {
      for (const incoming of ['two words', 'a"b', 'x'.repeat(129)]) {
        const { reqId, line } = await request('filepath=a.txt', await hsToken(), { 'X-Request-Id': incoming });
        expect(reqId).to.match(UUID);
        expect(line.reqId).to.equal(reqId);
        expect(server.rawLogs()).to.not.include(incoming);
      }
    });
  });

  describe('errors', () => {
    const cases: Array<{ name: string; query: string; status: number; code: string; layer: string | null }> = [
      { name: 'a missing file', query: 'filepath=missing.txt', status: 404, code: 'NOT_FOUND', layer: 'OsFs' },
      { name: 'a traversal', query: 'filepath=..%2Fx', status: 403, code: 'PATH_NOT_ALLOWED', layer: 'OsFs' },
      { name: 'a bad parameter', query: 'filepath=a%2F%2Fb', status: 400, code: 'BAD_REQUEST', layer: null },
      { name: 'an unknown fstype', query: 'filepath=a.txt&fstype=nope', status: 400, code: 'UNKNOWN_FSTYPE', layer: null },
    ];
    for (const c of cases) {
      it(`logs the code of an error response: ${c.name} → ${c.status} ${c.code}`, async () => {
        const { response, body, line } = await request(c.query, await hsToken({ sub: 'dave' }));
        expect(response.status).to.equal(c.status);
        expect((JSON.parse(body) as { code: string }).code).to.equal(c.code);
        expect(line).to.include({ status: c.status, code: c.code, subject: 'dave', route: '/api/download', layer: c.layer, bytes: Buffer.byteLength(body) });
      });
    }

    it('logs FORBIDDEN with the subject of a token that lacks the scope', async () => {
      const { line } = await request('filepath=a.txt', await hsToken({ sub: 'erin', scope: 'files:list' }));
      expect(line).to.include({ status: 403, code: 'FORBIDDEN', subject: 'erin' });
    });

    it('logs a 401 with subject null and code UNAUTHORIZED (no token)', async () => {
      const { line } = await request('filepath=a.txt', null);
      expect(line).to.include({ status: 401, code: 'UNAUTHORIZED', subject: null, route: '/api/download', layer: null });
    });

    it('logs a 401 with subject null even when the refused token names a sub', async () => {
      const token = await hsToken({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) - 3600 });
      const { line } = await request('filepath=a.txt', token);
      expect(line).to.include({ status: 401, code: 'UNAUTHORIZED', subject: null });
      expectTokenAbsent(token);
    });

    it('logs an unknown route with route null and code NOT_FOUND', async () => {
      const response = await fetch(`${server.url}/api/nothing-here`);
      await response.text();
      const line = await waitForAccessLine(server, response.headers.get('x-request-id')!);
      expect(line).to.include({ status: 404, code: 'NOT_FOUND', route: null, subject: null });
    });
  });

  describe('secrets stay out of the log', () => {
    it('never writes a header token anywhere in the log', async () => {
      const token = await hsToken({ sub: 'frank', nonce: 'header-token-nonce' });
      const { response } = await request('filepath=a.txt', token);
      expect(response.status).to.equal(200);
      expectTokenAbsent(token);
      expect(server.rawLogs()).to.not.include('header-token-nonce');
    });

    it('never writes a query token; the logged url shows token=[REDACTED]', async () => {
      const token = await hsToken({ sub: 'grace' });
      const { response, line } = await request(`filepath=a.txt&token=${token}`, null);
      expect(response.status).to.equal(200);
      expect(line.subject).to.equal('grace');
      expect(line.url).to.equal('/api/download?filepath=a.txt&token=[REDACTED]');
      expectTokenAbsent(token);
    });

    it('never writes a sig value, even of a refused signature; the logged url shows sig=[REDACTED]', async () => {
      const sig = 'c2lnbmF0dXJlLXZhbHVlLXRoYXQtbXVzdC1zdGF5LXNlY3JldA';
      const { response, line } = await request(`filepath=a.txt&expires=9999999999&kid=k1&sig=${sig}`, null);
      expect(response.status).to.equal(403);
      expect(line.url).to.equal('/api/download?filepath=a.txt&expires=9999999999&kid=k1&sig=[REDACTED]');
      expect(server.rawLogs()).to.not.include(sig);
    });

    it('redacts a query token whose name is percent-encoded or differently cased', async () => {
      const token = await hsToken({ sub: 'heidi' });
      const { response, line } = await request(`filepath=a.txt&%74oken=${token}`, null);
      expect(response.status).to.equal(200);
      expect(line.url).to.equal('/api/download?filepath=a.txt&%74oken=[REDACTED]');
      const other = await hsToken({ sub: 'ivan' });
      const second = await request(`filepath=a.txt&TOKEN=${other}`, null);
      expect(second.line.url).to.equal('/api/download?filepath=a.txt&TOKEN=[REDACTED]');
      expectTokenAbsent(token);
      expectTokenAbsent(other);
    });

    it('keeps both tokens out of the log when a request sends one in the header and one in the query (401)', async () => {
      const inHeader = await hsToken({ sub: 'judy', nonce: 'h' });
      const inQuery = await hsToken({ sub: 'judy', nonce: 'q' });
      const { response, line } = await request(`filepath=a.txt&token=${inQuery}`, inHeader);
      expect(response.status).to.equal(401);
      expect(line).to.include({ status: 401, subject: null, url: '/api/download?filepath=a.txt&token=[REDACTED]' });
      expectTokenAbsent(inHeader);
      expectTokenAbsent(inQuery);
    });

    it('keeps a refused query token out of the log (garbage, expired and oversized)', async () => {
      const refused = [
        'not.a.jwt-but-secret-looking',
        await hsToken({ exp: Math.floor(Date.now() / 1000) - 3600 }),
        await hsToken({ pad: 'p'.repeat(9000) }),
      ];
      for (const token of refused) {
        const { line } = await request(`filepath=a.txt&token=${token}`, null);
        expect(line).to.include({ status: 401, url: '/api/download?filepath=a.txt&token=[REDACTED]' });
        expect(server.rawLogs()).to.not.include(token);
      }
    });
  });

  describe('credentials under any name stay out of the log', () => {
    // The names credentials go by in the wild, and their usual spellings; the token is a real, valid one each time.
    const names = ['access_token', 'jwt', 'auth', 'api_key', 'signature', 'X-Amz-Signature', 'id_token', 'apikey', 'client_secret', 'password', 'X-Amz-Security-Token', 'access%5Ftoken', 'ACCESS_TOKEN'];
    for (const name of names) {
      it(`redacts a valid token sent as "${name}", with and without a header token`, async () => {
        const token = await hsToken({ sub: 'nadia', nonce: `under-${name}` });
        const withHeader = await request(`filepath=a.txt&${name}=${token}`, await hsToken({ sub: 'nadia' }));
        expect(withHeader.response.status).to.equal(200);
        expect(withHeader.line.url).to.equal(`/api/download?filepath=a.txt&${name}=[REDACTED]`);
        const alone = await request(`${name}=${token}&filepath=a.txt`, null);
        expect(alone.response.status).to.equal(401);
        expect(alone.line.url).to.equal(`/api/download?${name}=[REDACTED]&filepath=a.txt`);
        expectTokenAbsent(token);
      });
    }

    it('redacts a valid token under a name that says nothing, with its dots percent-encoded, and in a path', async () => {
      const token = await hsToken({ sub: 'olaf', nonce: 'unnamed' });
      const plain = await request(`filepath=a.txt&x=${token}`, await hsToken());
      expect(plain.line.url).to.equal('/api/download?filepath=a.txt&x=[REDACTED]');
      const encoded = await request(`filepath=a.txt&x=${token.replace(/\./g, '%2E')}`, await hsToken());
      expect(encoded.line.url).to.equal('/api/download?filepath=a.txt&x=[REDACTED]');
      const inPath = await fetch(`${server.url}/api/${token}`);
      await inPath.text();
      const line = await waitForAccessLine(server, inPath.headers.get('x-request-id')!);
      expect(line).to.include({ status: 404, url: '/api/[REDACTED]' });
      expectTokenAbsent(token);
      expect(server.rawLogs()).to.not.include(token.split('.')[1]!.replace(/\./g, '%2E'));
    });
  });

  describe('control characters', () => {
    /** Every raw line is one complete JSON object: nothing split a line or added one. */
    function expectWholeJsonLines(): void {
      const raw = server.rawLogs();
      expect(raw.endsWith('\n'), 'raw log ends with a newline').to.equal(true);
      const lines = raw.slice(0, -1).split('\n');
      for (const line of lines) {
        expect(() => JSON.parse(line) as unknown, line).to.not.throw();
        expect(JSON.parse(line)).to.be.an('object');
      }
      // Nothing but the line breaks between entries: no CR, other controls or Unicode line separators.
      expect(raw.replace(/\n/g, '')).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(server.logs.some((entry) => entry.msg === 'forged')).to.equal(false);
    }

    it('escapes a newline, CR, ESC and U+2028 in the sub claim', async () => {
      const sub = 'kim\n{"level":30,"msg":"forged"}\r\u001b[31m\u2028end';
      const { response, line } = await request('filepath=a.txt', await hsToken({ sub }));
      expect(response.status).to.equal(200);
      expect(line.subject).to.be.a('string');
      expect(line.subject as string).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(line.subject as string).to.include('kim').and.include('forged').and.include('end');
      expectWholeJsonLines();
    });

    it('keeps a percent-encoded newline ("%0a"), a CRLF with a forged entry and U+2028 in the path from splitting a line', async () => {
      const token = await hsToken({ sub: 'leo' });
      const cases: Array<[string, number]> = [
        ['filepath=a%0ab.txt', 400],
        ['filepath=a.txt%0d%0a%7B%22msg%22%3A%22forged%22%7D', 400],
        ['filepath=%E2%80%A8.txt', 404],
      ];
      for (const [query, status] of cases) {
        const { line } = await request(query, token);
        expect(line.status, query).to.equal(status);
        expect(line.url).to.equal(`/api/download?${query}`);
      }
      expectWholeJsonLines();
    });
  });
});
