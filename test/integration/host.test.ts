// The Host header, sent raw: a malformed or repeated Host is 400 before anything else, and the URLs filegate builds take their origin from signing.baseUrl or a checked Host (and, behind a trusted proxy, checked X-Forwarded-Host/Proto).

import { expect } from 'chai';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { sendRaw, type RawResponse } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const KEY = 'k1-signing-key-that-is-long-enough-0123';
const SIGN_BODY = JSON.stringify({ filepath: 'a.txt' });

function expectBadRequest(response: RawResponse, mentions: string): void {
  expect(response.status, response.raw.slice(0, 400)).to.equal(400);
  const body = JSON.parse(response.body) as { code: string; error: string };
  expect(body.code).to.equal('BAD_REQUEST');
  expect(body.error).to.include(mentions);
  expect(response.body).to.not.include('download_url');
}

describe('the Host header', () => {
  let tree: TempDir;
  let server: TestServer;
  let token: string;

  before(async () => {
    tree = tempDir('filegate-host-');
    tree.file('a.txt', 'hello\n');
    tree.file('set/b.txt', 'bee\n');
    server = await startTestServer({ layers: { OsFs: { root: tree.dir } }, signing: { keys: { k1: KEY }, currentKey: 'k1' } });
    token = await hsToken({ scope: 'files:read files:archive files:sign' });
  });

  after(async () => {
    await server?.close();
    tree?.remove();
  });

  /** POST /api/sign for a.txt with the given header lines (Host among them), raw. */
  function sign(url: string, headerLines: string, version = '1.1'): Promise<RawResponse> {
    return sendRaw(
      url,
      `POST /api/sign HTTP/${version}\r\n${headerLines}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${SIGN_BODY.length}`,
      SIGN_BODY,
    );
  }

  describe('malformed or repeated: 400 BAD_REQUEST, before authentication', () => {
    const malformed: Array<[string, string]> = [
      ['a path and query (regression: reflected into download_url)', 'evil.example:443/x?'],
      ['userinfo', 'user@evil.example'],
      ['a space', 'evil.example :80'],
      ['a port over 65535', 'files.example:70000'],
      ['an empty port', 'files.example:'],
      ['two hosts in one value', 'files.example, evil.example'],
      ['an unbracketed IPv6 address', '::1'],
      ['a name over 253 characters', `${'a'.repeat(60)}.`.repeat(5)],
    ];
    for (const [what, host] of malformed) {
      it(`${what}: ${JSON.stringify(host.slice(0, 40))}`, async () => {
        expectBadRequest(await sign(server.url, `Host: ${host}`), 'Host');
      });
    }

    it('an empty Host (an http URI never has an empty host, RFC 9110 §4.2.1)', async () => {
      expectBadRequest(await sign(server.url, 'Host: '), 'Host');
    });

    it('two Host headers, the same or different, any case (regression: the first won)', async () => {
      expectBadRequest(await sign(server.url, 'Host: files.example\r\nHost: evil.example'), 'more than one Host');
      expectBadRequest(await sign(server.url, 'Host: files.example\r\nHost: files.example'), 'more than one Host');
      expectBadRequest(await sign(server.url, 'Host: files.example\r\nhOsT: evil.example'), 'more than one Host');
    });

    it('is decided before authentication and on every route: no token, /healthz, an unknown path', async () => {
      for (const target of ['/healthz', '/api/download?filepath=a.txt', '/no/such/route']) {
        const response = await sendRaw(server.url, `GET ${target} HTTP/1.1\r\nHost: evil.example/x`);
        expectBadRequest(response, 'Host');
        expect(response.headers['x-request-id']).to.be.a('string');
        expect(response.headers['x-content-type-options']).to.equal('nosniff');
        expect(response.headers).to.not.have.property('www-authenticate');
      }
      expectBadRequest(await sendRaw(server.url, 'GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example'), 'more than one Host');
    });

  });

  describe('the origin of the URLs filegate builds', () => {
    const origins: Array<[string, string]> = [
      ['files.example', 'http://files.example'],
      ['files.example:8443', 'http://files.example:8443'],
      ['127.0.0.1:9000', 'http://127.0.0.1:9000'],
      ['[::1]:9000', 'http://[::1]:9000'],
      ['files.example.', 'http://files.example.'],
    ];
    for (const [host, origin] of origins) {
      it(`Host ${host} → ${origin}; the same Host twice is 400`, async () => {
        expectBadRequest(await sign(server.url, `Host: ${host}\r\nHost: ${host}`), 'more than one Host');
        const response = await sign(server.url, `Host: ${host}`);
        expect(response.status, response.body).to.equal(200);
        const body = JSON.parse(response.body) as { download_url: string; head_url: string };
        expect(body.download_url.startsWith(`${origin}/api/download?`), body.download_url).to.equal(true);
        expect(body.head_url.startsWith(`${origin}/api/download?`), body.head_url).to.equal(true);
        expect(new URL(body.download_url).pathname).to.equal('/api/download');
      });
    }

    it('a package signed_url takes its origin from the Host too, and a malformed Host gets none', async () => {
      const created = await fetch(`${server.url}/api/packages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ paths: ['set'] }),
      });
      expect(created.status).to.equal(202);
      const { id } = (await created.json()) as { id: string };
      await server.running.app.packages.idle();
      const response = await sendRaw(server.url, `GET /api/packages/${id} HTTP/1.1\r\nHost: files.example:9000\r\nAuthorization: Bearer ${token}`);
      expect(response.status, response.body).to.equal(200);
      const view = JSON.parse(response.body) as { status: string; signed_url?: string };
      expect(view.status).to.equal('ready');
      expect(view.signed_url).to.match(new RegExp(`^http://files\\.example:9000/api/packages/${id}/download\\?`));
      expectBadRequest(await sendRaw(server.url, `GET /api/packages/${id} HTTP/1.1\r\nHost: evil.example:443/x?\r\nAuthorization: Bearer ${token}`), 'Host');
    });

    it('an HTTP/1.0 request without Host is served, but no URL can be built for it: 400 naming signing.baseUrl', async () => {
      const health = await sendRaw(server.url, 'GET /healthz HTTP/1.0');
      expect(health.status).to.equal(200);
      const response = await sendRaw(
        server.url,
        `POST /api/sign HTTP/1.0\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${SIGN_BODY.length}`,
        SIGN_BODY,
      );
      expectBadRequest(response, 'signing.baseUrl');
    });

    it('signing.baseUrl wins over any valid Host', async () => {
      const fixed = await startTestServer({
        layers: { OsFs: { root: tree.dir } },
        signing: { keys: { k1: KEY }, currentKey: 'k1', baseUrl: 'https://files.example.com/base/' },
      });
      try {
        const response = await sign(fixed.url, 'Host: other.example:1234');
        expect(response.status, response.body).to.equal(200);
        const { download_url: url } = JSON.parse(response.body) as { download_url: string };
        expect(url.startsWith('https://files.example.com/base/api/download?'), url).to.equal(true);
        // A malformed Host is still a malformed request.
        expectBadRequest(await sign(fixed.url, 'Host: evil.example/x'), 'Host');
      } finally {
        await fixed.close();
      }
    });
  });

  describe('behind a trusted proxy (server.trustProxy)', () => {
    let proxied: TestServer;

    before(async () => {
      proxied = await startTestServer({ layers: { OsFs: { root: tree.dir } }, server: { trustProxy: true }, signing: { keys: { k1: KEY }, currentKey: 'k1' } });
    });

    after(async () => {
      await proxied?.close();
    });

    it('takes the origin from the first X-Forwarded-Host and X-Forwarded-Proto, and still checks Host', async () => {
      expectBadRequest(await sign(proxied.url, 'Host: 10.0.0.5:8080/x\r\nX-Forwarded-Host: files.example.com'), 'Host');
      const response = await sign(proxied.url, 'Host: 10.0.0.5:8080\r\nX-Forwarded-Host: files.example.com, inner.local\r\nX-Forwarded-Proto: https, http');
      expect(response.status, response.body).to.equal(200);
      const { download_url: url } = JSON.parse(response.body) as { download_url: string };
      expect(url.startsWith('https://files.example.com/api/download?'), url).to.equal(true);
    });

    const refused: Array<[string, string, string]> = [
      ['a malformed X-Forwarded-Host', 'X-Forwarded-Host: evil.example:443/x?', 'X-Forwarded-Host'],
      ['X-Forwarded-Host with userinfo', 'X-Forwarded-Host: user@evil.example', 'X-Forwarded-Host'],
      ['an X-Forwarded-Proto that is not http or https', 'X-Forwarded-Proto: javascript', 'X-Forwarded-Proto'],
      ['an X-Forwarded-Proto with a path', 'X-Forwarded-Proto: https://evil.example/', 'X-Forwarded-Proto'],
    ];
    for (const [what, line, mentions] of refused) {
      it(`refuses ${what}`, async () => {
        expectBadRequest(await sign(proxied.url, `Host: files.example\r\n${line}`), mentions);
      });
    }

    it('ignores X-Forwarded-* when no proxy is trusted (the default), but not Host', async () => {
      expectBadRequest(await sign(server.url, 'Host: evil.example/x?\r\nX-Forwarded-Host: files.example'), 'Host');
      const response = await sign(server.url, 'Host: files.example\r\nX-Forwarded-Host: evil.example/x?\r\nX-Forwarded-Proto: javascript');
      expect(response.status, response.body).to.equal(200);
      const { download_url: url } = JSON.parse(response.body) as { download_url: string };
      expect(url.startsWith('http://files.example/api/download?'), url).to.equal(true);
    });
  });
});
