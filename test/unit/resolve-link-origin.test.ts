// Table tests for resolveLinkOrigin: the origin `npm run sign` prints, from --url, --port, signing.baseUrl and server.host/port.

import { expect } from 'chai';
import { resolveLinkOrigin, type LinkOriginOptions } from '../../src/dev/resolve-link-origin.js';

describe('resolveLinkOrigin', () => {
  // [what, options, server, signing.baseUrl, origin]
  const cases: Array<[string, LinkOriginOptions, { host: string; port: number }, string | null, string]> = [
    ['the defaults', {}, { host: '0.0.0.0', port: 8080 }, null, 'http://localhost:8080'],
    ['a configured port (FILEGATE_PORT or the config)', {}, { host: '0.0.0.0', port: 9090 }, null, 'http://localhost:9090'],
    ['a configured host', {}, { host: '127.0.0.1', port: 9090 }, null, 'http://127.0.0.1:9090'],
    ['an IPv6 host, in brackets', {}, { host: '::1', port: 9090 }, null, 'http://[::1]:9090'],
    ['--port over the configured one', { port: '9191' }, { host: '0.0.0.0', port: 8080 }, null, 'http://localhost:9191'],
    ['--port when the config says 0', { port: '9191' }, { host: '127.0.0.1', port: 0 }, null, 'http://127.0.0.1:9191'],
    ['signing.baseUrl, as the server signs', {}, { host: '0.0.0.0', port: 8080 }, 'https://files.example.com/', 'https://files.example.com'],
    ['--port over signing.baseUrl (a local server)', { port: '9191' }, { host: '0.0.0.0', port: 8080 }, 'https://files.example.com', 'http://localhost:9191'],
    ['--url over everything', { url: 'http://127.0.0.1:7000/' }, { host: '0.0.0.0', port: 0 }, 'https://files.example.com', 'http://127.0.0.1:7000'],
    ['--url with https and a name', { url: 'https://files.example.com' }, { host: '0.0.0.0', port: 8080 }, null, 'https://files.example.com'],
  ];
  for (const [what, options, server, baseUrl, origin] of cases) {
    it(`${what} → ${origin}`, () => expect(resolveLinkOrigin(options, server, baseUrl)).to.equal(origin));
  }

  // [what, options, server, the message]
  const refused: Array<[string, LinkOriginOptions, { host: string; port: number }, RegExp]> = [
    ['port 0 and no --port: only the running server knows its port', {}, { host: '0.0.0.0', port: 0 }, /server\.port is 0 .*--port/],
    ['--port and --url together', { port: '1', url: 'http://localhost:1' }, { host: '0.0.0.0', port: 8080 }, /--port or --url, not both/],
    ['--port 0', { port: '0' }, { host: '0.0.0.0', port: 8080 }, /--port 0 is not a port number/],
    ['--port 70000', { port: '70000' }, { host: '0.0.0.0', port: 8080 }, /--port 70000 is not a port number/],
    ['--port abc', { port: 'abc' }, { host: '0.0.0.0', port: 8080 }, /--port abc is not a port number/],
    ['--url with a path', { url: 'http://localhost:8080/api' }, { host: '0.0.0.0', port: 8080 }, /is not an origin/],
    ['--url without a scheme', { url: 'localhost:8080' }, { host: '0.0.0.0', port: 8080 }, /is not an origin/],
  ];
  for (const [what, options, server, message] of refused) {
    it(`${what} → an error saying what to give`, () => expect(() => resolveLinkOrigin(options, server, null)).to.throw(Error, message));
  }
});
