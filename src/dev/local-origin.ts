// The origin a client on this machine reaches the service at, for the commands filegate prints.

/**
 * `http://host:port` for `server.host` and a port: a wildcard address
 * ("0.0.0.0", "::", empty) becomes `localhost`, an IPv6 address is put in
 * brackets (RFC 3986 section 3.2.2). The port must be the one listened on:
 * 0 ("pick a free one") names no port a client can use, so it throws.
 */
export function toLocalOrigin(host: string, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not a port a client can connect to`);
  const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
  const name = wildcard ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}
