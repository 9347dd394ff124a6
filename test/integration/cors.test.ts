// CORS over HTTP: off by default, preflights answered before authentication, exposed headers, errors readable by the page, no credentials with the wildcard.

import { expect } from 'chai';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const APP = 'https://files.example.com';

describe('CORS', () => {
  let tmp: TempDir;
  let token: string;
  const layers = () => ({ OsFs: { root: path.join(tmp.dir, 'data') } });
  const preflight = (url: string, origin: string, method = 'GET') =>
    fetch(`${url}/api/download?filepath=a.txt`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization, range' },
    });

  before(async () => {
    tmp = tempDir();
    tmp.file('data/a.txt', 'abc\n');
    token = await hsToken();
  });
  after(() => tmp.remove());

  describe('off by default', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ layers: layers() });
    });
    after(() => server.close());

    it('sends no CORS header, even to a request with an Origin', async () => {
      const response = await fetch(`${server.url}/api/download?filepath=a.txt`, { headers: { Authorization: `Bearer ${token}`, Origin: APP } });
      expect(response.status).to.equal(200);
      expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).to.deep.equal([]);
      const answered = await preflight(server.url, APP);
      expect(answered.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });

  describe('cors.origins lists the file browser', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ layers: layers(), cors: { origins: [APP] } });
    });
    after(() => server.close());

    it('answers a preflight 204 without a token: origin, methods, the headers a browser sends, max age', async () => {
      const response = await preflight(server.url, APP);
      expect(response.status).to.equal(204);
      expect(response.headers.get('access-control-allow-origin')).to.equal(APP);
      expect(response.headers.get('access-control-allow-methods')).to.include('GET');
      expect(response.headers.get('access-control-allow-headers')!.toLowerCase()).to.include('authorization').and.include('range');
      expect(response.headers.get('access-control-max-age')).to.equal('600');
      expect(response.headers.get('vary')).to.match(/origin/i);
      expect(response.headers.get('access-control-allow-credentials')).to.equal(null);
    });

    it('a preflight from an origin not listed is 403', async () => {
      const response = await preflight(server.url, 'https://evil.example');
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
      await expectError(response, 403, 'FORBIDDEN');
    });

    it('a download exposes Content-Disposition, Content-Range, Content-Length, ETag and X-Request-Id', async () => {
      const response = await fetch(`${server.url}/api/download?filepath=a.txt`, { headers: { Authorization: `Bearer ${token}`, Origin: APP, Range: 'bytes=0-1' } });
      expect(response.status).to.equal(206);
      expect(response.headers.get('access-control-allow-origin')).to.equal(APP);
      const exposed = response.headers.get('access-control-expose-headers')!.split(/,\s*/).map((name) => name.toLowerCase());
      for (const name of ['content-disposition', 'content-range', 'content-length', 'etag', 'x-request-id']) expect(exposed).to.include(name);
      expect(await response.text()).to.equal('ab');
    });

    it('an error keeps the CORS headers, so the page can read its JSON', async () => {
      const response = await fetch(`${server.url}/api/download?filepath=missing.txt`, { headers: { Authorization: `Bearer ${token}`, Origin: APP } });
      expect(response.headers.get('access-control-allow-origin')).to.equal(APP);
      await expectError(response, 404, 'NOT_FOUND');
      const anonymous = await fetch(`${server.url}/api/download?filepath=a.txt`, { headers: { Origin: APP } });
      expect(anonymous.headers.get('access-control-allow-origin')).to.equal(APP);
      await expectError(anonymous, 401, 'UNAUTHORIZED');
    });

    it('another origin gets no CORS header on a simple request', async () => {
      const response = await fetch(`${server.url}/api/download?filepath=a.txt`, { headers: { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });

  describe('the wildcard', () => {
    it('"*" answers every origin with "*" and never allows credentials', async () => {
      const server = await startTestServer({ layers: layers(), cors: { origins: ['*'] } });
      try {
        const response = await preflight(server.url, 'https://anywhere.example');
        expect(response.status).to.equal(204);
        expect(response.headers.get('access-control-allow-origin')).to.equal('*');
        expect(response.headers.get('access-control-allow-credentials')).to.equal(null);
      } finally {
        await server.close();
      }
    });

    it('with allowCredentials, listed origins are echoed with credentials allowed', async () => {
      const server = await startTestServer({ layers: layers(), cors: { origins: [APP], allowCredentials: true } });
      try {
        const response = await preflight(server.url, APP);
        expect(response.headers.get('access-control-allow-origin')).to.equal(APP);
        expect(response.headers.get('access-control-allow-credentials')).to.equal('true');
      } finally {
        await server.close();
      }
    });
  });
});
