// countBodyBytes against a real node:http server: each way a body can be written, counted as the client receives it.

import { expect } from 'chai';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { countBodyBytes } from '../../src/http/body-bytes.js';

/** How a handler writes its body, and the bytes it writes. */
const cases: Array<[string, (res: ServerResponse) => void, number]> = [
  ['end(Buffer)', (res) => res.end(Buffer.alloc(1000)), 1000],
  ['end(string), UTF-8 by default', (res) => res.end('héllo ✓'), Buffer.byteLength('héllo ✓')],
  ['end(string, "latin1")', (res) => res.end('héllo', 'latin1'), 5],
  ['end(string, "hex")', (res) => res.end('00ff00ff', 'hex'), 4],
  ['end(Uint8Array)', (res) => res.end(new Uint8Array(7)), 7],
  ['end() with no body', (res) => res.end(), 0],
  ['end(callback)', (res) => res.end(() => {}), 0],
  ['write × 3, then end(chunk)', (res) => {
    res.write('ab');
    res.write(Buffer.alloc(10), () => {});
    res.write('cd', 'utf8', () => {});
    res.end('e');
  }, 15],
  ['a piped stream with no Content-Length (chunked)', (res) => {
    Readable.from([Buffer.alloc(70_000), Buffer.alloc(5), 'xyz']).pipe(res);
  }, 70_008],
  ['writes after end are not counted', (res) => {
    // Node reports a write after end as an error event, besides the callback.
    res.on('error', () => {});
    res.end('done');
    res.write('late', () => {});
    res.end('later');
  }, 4],
];

describe('countBodyBytes', () => {
  for (const [what, send, expected] of cases) {
    it(`${what}: ${expected} bytes`, async () => {
      let counted: (() => number) | undefined;
      let markClosed = () => {};
      const closed = new Promise<void>((resolve) => {
        markClosed = resolve;
      });
      const server = http.createServer((_req, res) => {
        counted = countBodyBytes(res);
        res.once('close', markClosed);
        send(res);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        const received = (await response.arrayBuffer()).byteLength;
        await closed;
        expect(received, 'received').to.equal(expected);
        expect(counted!(), 'counted').to.equal(expected);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  }
});
