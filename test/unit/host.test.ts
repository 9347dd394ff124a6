// Table tests for parseHost (which Host values name an origin: RFC 9110 §7.2, RFC 3986 §3.2.2, DNS name rules, both sides of each rule) and for the header check built on it.

import { expect } from 'chai';
import type { Context } from 'koa';
import { isFilegateError } from '../../src/errors.js';
import { createHostCheck, isValidHost, parseHost } from '../../src/http/host.js';

const LABEL_63 = 'a'.repeat(63);
// 253 characters: three labels of 63 and one of 61, with the dots between.
const NAME_253 = `${LABEL_63}.${LABEL_63}.${LABEL_63}.${'b'.repeat(61)}`;

describe('parseHost', () => {
  it('the long names are as long as they say', () => {
    expect(NAME_253.length).to.equal(253);
    expect(`${NAME_253}b`.length).to.equal(254);
  });

  const valid: Array<[string, string, number | null]> = [
    ['localhost', 'localhost', null],
    ['localhost:8080', 'localhost', 8080],
    ['files.example.com', 'files.example.com', null],
    ['Files.Example.COM:443', 'Files.Example.COM', 443],
    ['a', 'a', null],
    ['my-service', 'my-service', null],
    ['my_service.internal', 'my_service.internal', null],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example', null],
    ['3f2a1bc4d5e6:8080', '3f2a1bc4d5e6', 8080],
    ['example.com.', 'example.com.', null],
    ['example.com.:8080', 'example.com.', 8080],
    [`${LABEL_63}.example`, `${LABEL_63}.example`, null],
    [NAME_253, NAME_253, null],
    [`${NAME_253}.`, `${NAME_253}.`, null],
    ['127.0.0.1', '127.0.0.1', null],
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    ['0.0.0.0', '0.0.0.0', null],
    ['255.255.255.255:65535', '255.255.255.255', 65535],
    ['[::1]', '::1', null],
    ['[::1]:8080', '::1', 8080],
    ['[2001:db8::7]:443', '2001:db8::7', 443],
    ['[2001:DB8:0:0:0:0:0:7]', '2001:DB8:0:0:0:0:0:7', null],
    ['[::ffff:192.0.2.1]', '::ffff:192.0.2.1', null],
    ['host:0', 'host', 0],
    ['host:1', 'host', 1],
    ['host:65535', 'host', 65535],
    ['host:00080', 'host', 80],
  ];
  for (const [value, hostname, port] of valid) {
    it(`accepts ${JSON.stringify(value.length > 60 ? `${value.slice(0, 30)}…(${value.length})` : value)}`, () => {
      expect(parseHost(value)).to.deep.equal({ hostname, port });
      expect(isValidHost(value)).to.equal(true);
    });
  }

  const invalid: Array<[string, string]> = [
    ['empty', ''],
    ['a path', 'evil.example:443/x?'],
    ['a path without a port', 'example.com/'],
    ['a query', 'example.com?x'],
    ['a fragment', 'example.com#x'],
    ['userinfo', 'user@example.com'],
    ['userinfo with a password', 'user:pass@example.com:80'],
    ['a leading space', ' example.com'],
    ['a trailing space', 'example.com '],
    ['a space inside', 'exa mple.com'],
    ['a tab', 'example.com\t'],
    ['a comma (two hosts)', 'a.example, b.example'],
    ['sub-delims', "a!$&'()*+;=.example"],
    ['percent-encoding', 'ex%61mple.com'],
    ['a backslash', 'example.com\\x'],
    ['non-ASCII (send the xn-- form)', 'bücher.example'],
    ['two trailing dots', 'example.com..'],
    ['a leading dot', '.example.com'],
    ['an empty label', 'a..b'],
    ['only a dot', '.'],
    ['a label starting with "-"', '-a.example'],
    ['a label ending with "-"', 'a-.example'],
    ['a label of 64 characters', `${LABEL_63}a.example`],
    ['a name of 254 characters', `${NAME_253}b`],
    ['port 65536', 'host:65536'],
    ['port 99999', 'host:99999'],
    ['a port of six digits', 'host:000080'],
    ['an empty port', 'host:'],
    ['a port with a sign', 'host:+80'],
    ['a port with letters', 'host:http'],
    ['two ports', 'host:80:81'],
    ['only a port', ':8080'],
    ['an IPv4 octet over 255', '256.0.0.1'],
    ['a number as the last label', '999.1.1.1'],
    ['a bare number', '2130706433'],
    ['three parts of an address', '127.0.1'],
    ['a hex last label', 'example.0x7f'],
    ['an IPv4 octet with a leading zero', '010.0.0.1'],
    ['an unbracketed IPv6 address', '::1'],
    ['an unbracketed IPv6 address with a port', '2001:db8::7:443'],
    ['an invalid IPv6 address', '[2001:db8:::7]'],
    ['an IPv6 address with too many groups', '[1:2:3:4:5:6:7:8:9]'],
    ['an IPv6 zone id', '[fe80::1%25eth0]'],
    ['IPvFuture', '[v1.fe80::a+en1]'],
    ['empty brackets', '[]'],
    ['an unclosed bracket', '[::1'],
    ['brackets around a name', '[example.com]'],
    ['a CR', 'example.com\r'],
    ['NUL', 'example.com\u0000'],
  ];
  for (const [what, value] of invalid) {
    it(`refuses ${what}: ${JSON.stringify(value.length > 60 ? `${value.slice(0, 30)}…(${value.length})` : value)}`, () => {
      expect(parseHost(value)).to.equal(null);
      expect(isValidHost(value)).to.equal(false);
    });
  }
});

describe('createHostCheck', () => {
  /** Runs the check on a request with these raw header lines and HTTP version; resolves to the BAD_REQUEST message, or null when it passes. */
  async function check(lines: Array<[string, string]>, options: { version?: string; trustProxy?: boolean } = {}): Promise<string | null> {
    const [major, minor] = (options.version ?? '1.1').split('.').map(Number) as [number, number];
    const headers: Record<string, string> = {};
    for (const [name, value] of lines) {
      const key = name.toLowerCase();
      // As Node keeps them: the first Host only, other repeats joined.
      if (key === 'host') headers.host ??= value;
      else headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    const req = { rawHeaders: lines.flat(), headers, httpVersionMajor: major, httpVersionMinor: minor };
    let passed = false;
    try {
      await createHostCheck(options.trustProxy ?? false)({ req } as unknown as Context, async () => {
        passed = true;
      });
    } catch (error) {
      expect(isFilegateError(error) && error.code).to.equal('BAD_REQUEST');
      return (error as Error).message;
    }
    expect(passed).to.equal(true);
    return null;
  }

  const cases: Array<[string, Array<[string, string]>, { version?: string; trustProxy?: boolean }, RegExp | null]> = [
    ['one valid Host', [['Host', 'files.example:8080']], {}, null],
    ['two Host headers', [['Host', 'a.example'], ['Host', 'b.example']], {}, /more than one Host/],
    ['two Host headers, differently cased', [['Host', 'a.example'], ['HOST', 'a.example']], {}, /more than one Host/],
    ['a header that only starts with "host"', [['Host', 'a.example'], ['Hostname', 'b']], {}, null],
    ['a malformed Host', [['Host', 'evil.example:443/x?']], {}, /Host header "evil\.example:443\/x\?"/],
    ['an empty Host', [['Host', '']], {}, /Host header ""/],
    ['HTTP/1.1 without Host', [], {}, /needs a Host header/],
    ['HTTP/1.0 without Host', [], { version: '1.0' }, null],
    ['a long malformed Host is shortened in the message', [['Host', `${'a'.repeat(300)}/`]], {}, /a{100}…"/],
    ['X-Forwarded-* ignored without a trusted proxy', [['Host', 'a.example'], ['X-Forwarded-Host', 'evil/x'], ['X-Forwarded-Proto', 'ftp']], {}, null],
    ['a valid X-Forwarded-Host list behind a proxy', [['Host', 'a.example'], ['X-Forwarded-Host', 'files.example, 10.0.0.1']], { trustProxy: true }, null],
    ['a malformed first X-Forwarded-Host', [['Host', 'a.example'], ['X-Forwarded-Host', 'evil/x, files.example']], { trustProxy: true }, /X-Forwarded-Host/],
    ['X-Forwarded-Proto https, any case', [['Host', 'a.example'], ['X-Forwarded-Proto', 'HTTPS, http']], { trustProxy: true }, null],
    ['X-Forwarded-Proto ftp', [['Host', 'a.example'], ['X-Forwarded-Proto', 'ftp']], { trustProxy: true }, /X-Forwarded-Proto header "ftp" is neither http nor https/],
    ['an empty X-Forwarded-Host (Koa falls back to Host)', [['Host', 'a.example'], ['X-Forwarded-Host', '']], { trustProxy: true }, null],
  ];
  for (const [what, lines, options, expected] of cases) {
    it(`${what} → ${expected === null ? 'passes' : 'BAD_REQUEST'}`, async () => {
      const message = await check(lines, options);
      if (expected === null) expect(message).to.equal(null);
      else expect(message).to.match(expected);
    });
  }
});
