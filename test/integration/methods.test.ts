// Methods no route serves, sent raw: 405 METHOD_NOT_ALLOWED with Allow on a known path, 404 NOT_FOUND elsewhere, always the JSON error body; OPTIONS answers Allow; every response carries nosniff.

import { expect } from 'chai';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { sendRaw, type RawResponse } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

/** The methods of an Allow value, sorted. */
function allowOf(response: RawResponse): string[] {
  return (response.headers.allow ?? '').split(',').map((method) => method.trim()).filter((method) => method !== '').sort();
}

function expectJsonError(response: RawResponse, status: number, code: string): void {
  expect(response.status, response.raw.slice(0, 300)).to.equal(status);
  expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
  expect(JSON.parse(response.body)).to.have.property('code', code);
  expect(response.headers['x-content-type-options']).to.equal('nosniff');
  expect(response.headers['x-request-id']).to.be.a('string').and.not.equal('');
}

describe('methods no route serves', () => {
  let tree: TempDir;
  let server: TestServer;

  before(async () => {
    tree = tempDir('filegate-methods-');
    tree.file('a.txt', 'hello\n');
    server = await startTestServer({
      layers: { OsFs: { root: tree.dir } },
      routes: [{ path: '/download/file/:name', filepath: '{name}' }],
    });
  });

  after(async () => {
    await server?.close();
    tree?.remove();
  });

  const known: Array<[method: string, path: string, allow: string[]]> = [
    ['TRACE', '/api/download?filepath=a.txt', ['GET', 'HEAD']],
    ['PROPFIND', '/api/download', ['GET', 'HEAD']],
    ['MKCOL', '/api/archive', ['GET', 'HEAD', 'POST']],
    ['PROPPATCH', '/api/packages', ['POST']],
    ['SEARCH', '/api/packages/some-id', ['GET', 'HEAD']],
    ['LOCK', '/api/list', ['GET', 'HEAD']],
    ['QUERY', '/healthz', ['GET', 'HEAD']],
    ['PURGE', '/download/file/a.txt', ['GET', 'HEAD']],
    // A method the router knows, for comparison: the same answer.
    ['DELETE', '/api/download', ['GET', 'HEAD']],
    ['PUT', '/api/sign', ['POST']],
  ];
  for (const [method, path, allow] of known) {
    it(`${method} ${path} → 405 METHOD_NOT_ALLOWED, JSON, Allow: ${allow.join(', ')} (regression: 501 text/plain)`, async () => {
      const response = await sendRaw(server.url, `${method} ${path} HTTP/1.1\r\nHost: localhost`);
      expectJsonError(response, 405, 'METHOD_NOT_ALLOWED');
      expect(allowOf(response)).to.deep.equal(allow);
    });
  }

  for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'GET', 'OPTIONS']) {
    it(`${method} on a path no route serves → 404 NOT_FOUND, JSON`, async () => {
      const response = await sendRaw(server.url, `${method} /no/such/route HTTP/1.1\r\nHost: localhost`);
      expectJsonError(response, 404, 'NOT_FOUND');
      expect(response.headers).to.not.have.property('allow');
    });
  }

  it('answers no method with 501 or text/plain, with or without a token', async () => {
    const token = await hsToken({ scope: 'files:read files:list files:archive files:sign' });
    for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'UNLOCK', 'REPORT', 'MKCALENDAR', 'LINK']) {
      for (const auth of ['', `\r\nAuthorization: Bearer ${token}`]) {
        const response = await sendRaw(server.url, `${method} /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost${auth}`);
        expect(response.status, method).to.equal(405);
        expect(response.headers['content-type'], method).to.equal('application/json; charset=utf-8');
      }
    }
  });

  it('OPTIONS on a file route → 204 with Allow and nosniff (regression: no nosniff)', async () => {
    const response = await sendRaw(server.url, 'OPTIONS /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost');
    expect(response.status).to.equal(204);
    expect(allowOf(response)).to.deep.equal(['GET', 'HEAD']);
    expect(response.headers['x-content-type-options']).to.equal('nosniff');
    expect(response.body).to.equal('');
    const alias = await sendRaw(server.url, 'OPTIONS /download/file/a.txt HTTP/1.1\r\nHost: localhost');
    expect(alias.status).to.equal(204);
    expect(alias.headers['x-content-type-options']).to.equal('nosniff');
  });

  it('what Node\'s parser refuses before the app (a method outside HTTP\'s registry, a lower-case method, HTTP/1.1 without Host) is 400 BAD_REQUEST with the JSON body (regression: a bare 400 with no body)', async () => {
    // llhttp accepts only the methods it knows; "BREW" never reaches a route.
    for (const head of ['BREW /api/download HTTP/1.1\r\nHost: localhost', 'get /healthz HTTP/1.1\r\nHost: localhost', 'GET /healthz HTTP/1.1\r\nX-No-Host: 1']) {
      const response = await sendRaw(server.url, head);
      expectJsonError(response, 400, 'BAD_REQUEST');
    }
  });

  it('every response carries X-Content-Type-Options: nosniff, whoever answers it', async () => {
    const token = await hsToken();
    const cases: Array<[string, string]> = [
      ['a file', `GET /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}`],
      ['HEAD of a file', `HEAD /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}`],
      ['a 304', `GET /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nIf-None-Match: *`],
      ['a listing', `GET /api/list HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}`],
      ['a 401', 'GET /api/download?filepath=a.txt HTTP/1.1\r\nHost: localhost'],
      ['healthz', 'GET /healthz HTTP/1.1\r\nHost: localhost'],
      ['readyz', 'GET /readyz HTTP/1.1\r\nHost: localhost'],
      ['the OpenAPI document', 'GET /openapi.json HTTP/1.1\r\nHost: localhost'],
      ['metrics', 'GET /metrics HTTP/1.1\r\nHost: localhost'],
    ];
    for (const [what, head] of cases) {
      const response = await sendRaw(server.url, head);
      expect(response.status, what).to.be.below(500);
      expect(response.headers['x-content-type-options'], what).to.equal('nosniff');
    }
  });
});
