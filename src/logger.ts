// Creates the pino logger and the helpers that keep secrets and control characters out of log lines.

import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** A JSON logger; `destination` defaults to standard output. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'filegate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Nothing logs headers today; this keeps a future `req` field safe too.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie'], censor: '[REDACTED]' },
    },
    destination,
  );
}

// Parameters whose values grant access: never written to a log.
const SECRET_PARAMETERS = new Set(['token', 'sig']);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A URL with the values of `token` and `sig` replaced, left as sent otherwise. */
export function redactUrl(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return url;
  const pairs = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals === -1 ? pair : pair.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // an undecodable name is no secret parameter of ours; keep it as sent
      }
      return SECRET_PARAMETERS.has(name.toLowerCase()) ? `${rawName}=[REDACTED]` : pair;
    });
  return `${url.slice(0, question)}?${pairs.join('&')}`;
}

/** Escapes control and line-separator characters so a value cannot forge or split a log line. */
export function escapeControl(value: string): string {
  return value.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
