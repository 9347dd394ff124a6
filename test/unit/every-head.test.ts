// stampEveryHead against a real node:http server: each way a head can be written carries the request id and nosniff, once, and a head given as an object is written in one pass.

import { expect } from 'chai';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stampEveryHead } from '../../src/http/every-head.js';
import { sendRaw } from '../helpers/raw-http.js';

/** How a handler writes its head. */
const cases: Array<[string, (res: ServerResponse) => void]> = [
  ['writeHead(status, object)', (res) => res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' }).end('ok')],
  ['writeHead(status, reason, object)', (res) => res.writeHead(200, 'Fine', { 'Content-Length': '2' }).end('ok')],
  ['writeHead(status) after setHeader', (res) => {
    res.setHeader('Content-Length', '2');
    res.writeHead(200).end('ok');
  }],
  ['writeHead(status, object) after setHeader', (res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.writeHead(200, { 'Content-Length': '2' }).end('ok');
  }],
  ['writeHead(status, flat array)', (res) => res.writeHead(200, ['Content-Length', '2']).end('ok')],
  ['the implicit head of end(body)', (res) => res.end('ok')],
  ['the implicit head of a first write', (res) => {
    res.write('o');
    res.end('k');
  }],
  ['a lower-case twin in the object', (res) => res.writeHead(200, { 'x-content-type-options': 'nosniff', 'Content-Length': '2' }).end('ok')],
];

describe('stampEveryHead', () => {
  let server: http.Server;
  let url: string;
  let setHeaderCalls = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      const index = Number(req.url!.slice(1));
      stampEveryHead(res, `id-${index}`);
      const { setHeader } = res;
      res.setHeader = function countedSetHeader(this: ServerResponse, ...args: Parameters<typeof setHeader>) {
        setHeaderCalls += 1;
        return setHeader.apply(this, args);
      } as typeof setHeader;
      cases[index]![1](res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  cases.forEach(([what], index) => {
    it(`${what}: the id and nosniff, each once`, async () => {
      const response = await sendRaw(url, `GET /${index} HTTP/1.1\r\nHost: localhost`);
      const head = response.raw.slice(0, response.raw.indexOf('\r\n\r\n'));
      expect(response.status, head).to.equal(200);
      expect(head.match(/^x-request-id: /gim), head).to.have.length(1);
      expect(response.headers['x-request-id']).to.equal(`id-${index}`);
      expect(head.match(/^x-content-type-options: /gim), head).to.have.length(1);
      expect(response.headers['x-content-type-options']).to.equal('nosniff');
      expect(response.body).to.equal('ok');
    });
  });

  it('a head given as an object, nothing set before, goes out without a setHeader', async () => {
    setHeaderCalls = 0;
    const response = await sendRaw(url, 'GET /0 HTTP/1.1\r\nHost: localhost');
    expect(response.headers['content-type']).to.equal('text/plain');
    expect(setHeaderCalls).to.equal(0);
  });
});
