// answerClientError on a real node:http server: what the parser refuses before any app code is answered with the JSON error body, or Node's own answer where the catalogue has no code.

import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerClientError } from '../../src/http/client-error.js';
import { sendRaw } from '../helpers/raw-http.js';

describe('answerClientError', () => {
  let server: http.Server;
  let url: string;

  before(async () => {
    server = http.createServer({ maxHeaderSize: 1024 }, (_req, res) => res.end('served'));
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const refused: Array<[string, string, RegExp]> = [
    ['a method outside HTTP\'s registry', 'BREW /pot HTTP/1.1\r\nHost: localhost', /method is not one this server knows/],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: localhost', /method is not one this server knows/],
    ['a header name with a space', 'GET / HTTP/1.1\r\nHost: localhost\r\nBad Header: x', /not valid HTTP\/1\.1 \(HPE_/],
    ['a bad HTTP version', 'GET / HTTP/9.9\r\nHost: localhost', /not valid HTTP\/1\.1 \(HPE_/],
  ];
  for (const [what, head, message] of refused) {
    it(`${what} → 400, JSON BAD_REQUEST`, async () => {
      const response = await sendRaw(url, head);
      expect(response.status, response.raw).to.equal(400);
      expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(response.headers['x-content-type-options']).to.equal('nosniff');
      expect(response.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
      const body = JSON.parse(response.body) as { error: string; code: string };
      expect(body.code).to.equal('BAD_REQUEST');
      expect(body.error).to.match(message);
      expect(Number(response.headers['content-length'])).to.equal(Buffer.byteLength(response.body));
    });
  }

  it('headers over the size limit keep Node\'s own 431', async () => {
    const response = await sendRaw(url, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(2000)}`);
    expect(response.status).to.equal(431);
  });

  it('a valid request is served as usual', async () => {
    const response = await sendRaw(url, 'GET / HTTP/1.1\r\nHost: localhost');
    expect([response.status, response.body]).to.deep.equal([200, 'served']);
  });
});
