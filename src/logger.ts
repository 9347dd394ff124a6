// Creates the pino logger and the helpers that keep secrets and control characters out of log lines.

import { pino, type DestinationStream, type Logger } from 'pino';
import { BatchedOutput } from './log-output.js';

export type { Logger };

const WARN_LEVEL = 40;

/** Log output is written once this much has gathered (about 15 access lines)... */
const LOG_BATCH_BYTES = 4096;
/** ...or this often, whichever comes first, so a quiet service's lines wait no longer. */
const LOG_FLUSH_MS = 100;

/**
 * Standard output, written in batches: one write for every 4 KB of lines or
 * every 100 ms, not one per line. Each write is a system call handed to a
 * libuv thread; one per access line cost a busy server a tenth of its CPU
 * once requests were spread over more turns of the event loop. Warnings,
 * errors and the lines that say the service is up or stopping go out at
 * once (`createLogger`, src/main.ts); what is gathered is written out when
 * the process exits, and is lost only with the process killed outright.
 * src/log-output.ts says why this is not pino's own destination.
 */
export function standardOutput(): DestinationStream {
  const output = new BatchedOutput(1, LOG_BATCH_BYTES, LOG_FLUSH_MS);
  process.once('exit', () => output.flushSync());
  return output;
}

/** A JSON logger; `destination` defaults to standard output, batched. */
export function createLogger(level: string, destination: DestinationStream = standardOutput()): Logger {
  return pino(
    {
      level,
      hooks: {
        // Warnings and errors go out at once, with whatever was gathered before them.
        logMethod(args, method, levelValue) {
          method.apply(this, args);
          if (levelValue >= WARN_LEVEL) this.flush();
        },
      },
      base: { service: 'filegate' },
      timestamp: isoTimeOncePerMillisecond(),
      // Nothing logs headers today; this keeps a future `req` field safe too.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie'], censor: '[REDACTED]' },
    },
    destination,
  );
}

/** pino's ISO time field, formatted once per millisecond: a busy server writes several lines in each. */
function isoTimeOncePerMillisecond(): () => string {
  let at = Number.NaN;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Parameter names whose values are credentials, matched case-insensitively
 * against the end of the name once it is percent-decoded (trailing brackets
 * or dots ignored): `access_token`, `X-Amz-Security-Token`, `auth[token]`
 * and `apiKey` all qualify. A suffix, not a list of exact names, because
 * credential parameters are named after what they hold (`id_token`,
 * `client_secret`, `x-goog-signature`, `session_key`); none of filegate's own
 * parameters (filepath, fstype, path, cursor, kid, expires, sub, …) ends so.
 * Redacting an unknown parameter that is no secret costs a log reader little.
 */
const CREDENTIAL_NAME = /(?:token|jwt|bearer|auth|authorization|secret|password|passwd|pwd|key|sig|signature|credentials?|assertion|sess(?:ion)?[_-]?id)[^a-z0-9]*$/i;

/**
 * Where a JWS (three base64url parts) or a JWE (five) may start: the first
 * part begins "ew" or "ey", as the base64url of "{" and a quote, a space or
 * a line break does. Confirmed by decoding the part (`isJoseHeader`).
 */
const JOSE_CANDIDATE = /(?:^|[^A-Za-z0-9_-])(e[wy][A-Za-z0-9_-]{2,})\.[A-Za-z0-9_-]*\./g;
const JSON_OBJECT_START = /^\s*\{\s*"/;
const REDACTED = '[REDACTED]';

/**
 * A URL as it may be logged: every query value that is a credential replaced
 * by `[REDACTED]`, left as sent otherwise. A value is a credential when its
 * name says so (`CREDENTIAL_NAME`) or when it holds a JWT or JWE anywhere,
 * whatever its name (a token under a name filegate does not know, or inside
 * another URL given as a value); a path segment holding one is replaced too.
 * Names and values are compared percent-decoded, so `access%5Ftoken` and a
 * JWT with `%2E` for its dots are caught.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  const shownPath = hasJwt(path) ? path.split('/').map((segment) => (hasJwt(segment) ? REDACTED : segment)).join('/') : path;
  if (question === -1) return shownPath;
  const pairs = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      // A JWT sent as a bare parameter (no "=") is a name here.
      if (hasJwt(name)) return REDACTED;
      const secret = isCredentialName(name) || (equals !== -1 && hasJwt(pair.slice(equals + 1)));
      return secret ? `${name}=${REDACTED}` : pair;
    });
  return `${shownPath}?${pairs.join('&')}`;
}

/** True when a raw (percent-encoded) query parameter name names a credential. */
export function isCredentialName(raw: string): boolean {
  return CREDENTIAL_NAME.test(decodeLoosely(raw));
}

/** True when raw (percent-encoded) text holds a JWS or JWE compact serialisation. */
export function hasJwt(raw: string): boolean {
  // The common case, cheaply: fewer than two dots, none of them percent-encoded.
  if (raw.indexOf('.') === raw.lastIndexOf('.') && !raw.includes('%2E') && !raw.includes('%2e')) return false;
  const text = decodeLoosely(raw);
  if (text.indexOf('.') === text.lastIndexOf('.') || (!text.includes('ey') && !text.includes('ew'))) return false;
  JOSE_CANDIDATE.lastIndex = 0;
  for (let match = JOSE_CANDIDATE.exec(text); match !== null; match = JOSE_CANDIDATE.exec(text)) {
    if (isJoseHeader(match[1]!)) return true;
    // Overlapping candidates: resume right after this one's first character.
    JOSE_CANDIDATE.lastIndex = match.index + 1;
  }
  return false;
}

/** True when a base64url part decodes to the start of a JSON object with a member, as a JOSE header does. */
function isJoseHeader(part: string): boolean {
  return JSON_OBJECT_START.test(Buffer.from(part.slice(0, 12), 'base64url').toString('latin1'));
}

/**
 * Percent-decodes once ("+" is a space, as in a query) and never throws:
 * text that is not valid UTF-8 is decoded byte by byte, which is enough to
 * read names and JWTs (ASCII). Text without "%" or "+", the common case, is
 * returned as it is.
 */
function decodeLoosely(raw: string): string {
  const hasPercent = raw.includes('%');
  if (!hasPercent && !raw.includes('+')) return raw;
  const spaced = raw.replace(/\+/g, ' ');
  if (!hasPercent) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/** Escapes control and line-separator characters so a value cannot forge or split a log line. */
export function escapeControl(value: string): string {
  return value.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
