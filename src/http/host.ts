// Decides whether a request's Host (and, behind a trusted proxy, X-Forwarded-Host/Proto) names an origin, before anything is built from it.

import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Middleware } from 'koa';
import { fail } from '../errors.js';

/**
 * host[:port]. The host is a DNS-style name (labels of letters, digits, "-"
 * and "_", 1 to 63 characters, not starting or ending with "-", one optional
 * trailing dot), a dotted-decimal IPv4 address, or a bracketed IPv6 address
 * (checked by `net.isIPv6`). The port is 1 to 5 digits. RFC 3986 §3.2.2's
 * reg-name also admits sub-delims ("!$&'()*+,;=") and percent-encoding; no
 * DNS name holds them, and in a Host they would only end up inside the URLs
 * filegate builds, so they are refused.
 */
const HOST = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|((?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)\.?))(?::(\d{1,5}))?$/;
// RFC 1035 §2.3.4: 255 octets on the wire, so 253 characters written out (a trailing dot aside).
const MAX_NAME = 253;
const MAX_PORT = 65535;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
// A last label that URL parsers read as a number (WHATWG URL "ends in a number"): the name must then be an IPv4 address.
const NUMERIC_LABEL = /^(?:\d+|0[xX][0-9A-Fa-f]*)$/;

export interface ParsedHost {
  /** The name or address as sent, an IPv6 address without its brackets. */
  readonly hostname: string;
  readonly port: number | null;
}

/**
 * Parses a Host value (RFC 9110 §7.2: uri-host [ ":" port ]) into its name
 * and port, or null when it is not one: empty, with a path, query, fragment
 * or userinfo, spaces, an empty or over-long label, a name over 253
 * characters, a port over 65535 or empty, a number that is not an IPv4
 * address (`999.1.1.1`, `0x7f`), an unbracketed or invalid IPv6 address.
 */
export function parseHost(value: string): ParsedHost | null {
  const match = HOST.exec(value);
  if (match === null) return null;
  const [, ipv6, name, lastLabel, portText] = match;
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && port > MAX_PORT) return null;
  if (ipv6 !== undefined) return isIPv6(ipv6) ? { hostname: ipv6, port } : null;
  const bare = name!.endsWith('.') ? name!.slice(0, -1) : name!;
  if (bare.length > MAX_NAME) return null;
  if (NUMERIC_LABEL.test(lastLabel!) && !IPV4.test(bare)) return null;
  return { hostname: name!, port };
}

/** True when `value` is a valid Host value (see `parseHost`). */
export function isValidHost(value: string): boolean {
  return parseHost(value) !== null;
}

/**
 * Middleware that refuses, before authentication (it is a malformed
 * request), a request with a repeated Host (Node keeps only the first; RFC
 * 9112 §3.2 says 400), an empty or malformed one, and, when a proxy is
 * trusted (`server.trustProxy`), a malformed X-Forwarded-Host or an
 * X-Forwarded-Proto other than http or https, in the first of their
 * comma-separated values, which is the one Koa uses for `ctx.host` and
 * `ctx.protocol`. An HTTP/1.1 request without Host is refused too; an
 * HTTP/1.0 one passes, and nothing that needs an origin can be built for it
 * (`originOf`). All BAD_REQUEST.
 */
export function createHostCheck(trustProxy: boolean): Middleware {
  return async (ctx, next) => {
    checkHostHeaders(ctx.req, trustProxy);
    await next();
  };
}

function checkHostHeaders(req: IncomingMessage, trustProxy: boolean): void {
  const { rawHeaders } = req;
  let hosts = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts += 1;
  }
  if (hosts > 1) fail('BAD_REQUEST', 'the request has more than one Host header; send exactly one');
  const host = req.headers.host;
  // RFC 9112 §3.2: HTTP/1.1 requires it (Node refuses it too, unless `requireHostHeader` is off, with a bare 400).
  if (host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) fail('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  if (host !== undefined && !isValidHost(host)) fail('BAD_REQUEST', `the Host header ${shown(host)} is not a host name or address with an optional port`);
  if (!trustProxy) return;
  const forwardedHost = firstValue(req.headers['x-forwarded-host']);
  if (forwardedHost !== '' && !isValidHost(forwardedHost)) {
    fail('BAD_REQUEST', `the X-Forwarded-Host header ${shown(forwardedHost)} is not a host name or address with an optional port`);
  }
  const forwardedProto = firstValue(req.headers['x-forwarded-proto']).toLowerCase();
  if (forwardedProto !== '' && forwardedProto !== 'http' && forwardedProto !== 'https') {
    fail('BAD_REQUEST', `the X-Forwarded-Proto header ${shown(forwardedProto)} is neither http nor https`);
  }
}

/** The first of a header's comma-separated values, trimmed, as Koa reads it; "" when absent. */
function firstValue(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return '';
  const comma = value.indexOf(',');
  return (comma === -1 ? value : value.slice(0, comma)).trim();
}

function shown(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

/**
 * The origin of the URLs filegate builds for this request: the configured
 * `baseUrl` when there is one, else the scheme and the (checked) host the
 * request came to. BAD_REQUEST when there is neither (an HTTP/1.0 request
 * without Host).
 */
export function originOf(baseUrl: string | null, request: { protocol: string; host: string }): string {
  if (baseUrl !== null) return baseUrl;
  if (request.host === '') fail('BAD_REQUEST', 'the request has no Host header to build a URL from; send one (or configure signing.baseUrl)');
  return `${request.protocol}://${request.host}`;
}
