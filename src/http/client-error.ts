// Answers what Node's HTTP parser refuses before the app sees it (a method outside HTTP's registry, a malformed request line or header) with the JSON error body every other error has.

import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';

// Node's own answers for these, kept as Node writes them: their statuses have no code in the catalogue.
const NODE_ANSWERS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};

/**
 * The response to a request the parser refused: 400 with
 * `{"error", "code": "BAD_REQUEST"}` (and X-Request-Id, nosniff, no-store),
 * or Node's own answer for an oversized header (431), chunk extension (413)
 * or a request timeout (408).
 */
export function clientErrorResponse(code: string | undefined): string {
  const known = code === undefined ? undefined : NODE_ANSWERS[code];
  if (known !== undefined) return known;
  const message =
    code === 'HPE_INVALID_METHOD'
      ? 'the request method is not one this server knows; use GET, HEAD or POST'
      : `the request is not valid HTTP/1.1 (${code ?? 'unparsable'}); check the request line and headers`;
  const body = JSON.stringify({ error: message, code: 'BAD_REQUEST' });
  return [
    'HTTP/1.1 400 Bad Request',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    `X-Request-Id: ${randomUUID()}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * A listener for http.Server's 'clientError' that does what Node's default
 * does (answer only when no response has started on the socket, then
 * destroy it), with `clientErrorResponse` as the answer.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's own test (lib/_http_server.js socketOnError): no response under way on this socket has sent a byte.
  const inFlight = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?._headerSent) socket.write(clientErrorResponse(error.code));
  socket.destroy(error);
}
