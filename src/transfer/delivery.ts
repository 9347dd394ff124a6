// Decides who sends a planned file body (SPEC, Delivery): filegate itself, the object store behind a redirect, or nginx behind X-Accel-Redirect.

import type { DeliveryConfig } from '../config/schema.js';
import type { OpenFile } from '../layers/layer.js';
import { encodeQueryValue } from '../layers/s3/object-key.js';
import type { TransferPlan } from './plan-transfer.js';

/** How a response's body went, as the access line and the metrics say it. */
export type DeliveryOutcome = 'proxy' | 'redirected' | 'x-accel';

/** What the request says that bears on handing the body off. */
export interface DeliveryRequest {
  readonly method: string;
  readonly range?: string | undefined;
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
  readonly ifRange?: string | undefined;
  /**
   * `X-Filegate-Delivery: proxy`: nginx's fallback asks filegate to send the
   * body itself, after the file it was told to send could not be opened.
   */
  readonly proxyAsked: boolean;
}

/** A response that hands the body to someone else: what filegate writes, with no body of its own. */
export interface HandOff {
  readonly outcome: Exclude<DeliveryOutcome, 'proxy'>;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body bytes the other side is to send (the plan's Content-Length). */
  readonly bodyBytes: number;
}

/** The request header nginx's fallback location sets (see docs/deployment.md). */
export const DELIVERY_HEADER = 'x-filegate-delivery';

/**
 * Headers that nginx copies from an X-Accel-Redirect answer into the final
 * response on its own (ngx_http_upstream_headers_in entries marked
 * "redirect"), and keeps into an error page or a fallback answer too. They
 * go under these names instead, and the internal location adds them back
 * (`add_header Content-Disposition $upstream_http_x_filegate_content_disposition`):
 * a fallback answer then carries filegate's headers only.
 */
const RENAMED_FOR_NGINX: Readonly<Record<string, string>> = {
  'Content-Disposition': 'X-Filegate-Content-Disposition',
  'Cache-Control': 'X-Filegate-Cache-Control',
  'Accept-Ranges': 'X-Filegate-Accept-Ranges',
};

// What nginx computes from the file it opens: its length, its range.
const LEFT_TO_NGINX = new Set(['Content-Length', 'Content-Range']);

// One range spec exactly as every server reads it alike: digits (at most 15,
// below any overflow), no space, no list. Anything else is served by filegate,
// which parsed it its own way (a coalesced list, a clamped huge number).
const PLAIN_SINGLE_RANGE = /^bytes=(?:\d{1,15}-\d{0,15}|-\d{1,15})$/;

/**
 * Decides who sends the body of `plan` for `file` under the layer's
 * `delivery`, and returns the hand-off response, or null when filegate sends
 * the body itself. A body is handed off only when the other side is bound
 * to send exactly what filegate decided:
 * - a GET (HEAD has no body), planned 200 or 206 with one range and at least
 *   one byte (304, multipart/byteranges and empty files stay here; 412 and
 *   416 were raised before any plan);
 * - a Range only as one plain spec (`bytes=0-99`, `bytes=100-`,
 *   `bytes=-100`) that filegate honoured: a Range filegate ignored (malformed,
 *   over the cap, or dropped by a stale If-Range) or rewrote (a coalesced
 *   list) would be read again, differently, by the engine or nginx;
 * - no If-Match or If-Unmodified-Since: nginx evaluates them before its
 *   headers filter, against its own validators (its answer is 412), and an
 *   engine against its ETag, which is not filegate's;
 * - "redirect": no conditional header at all (the engine compares If-Range
 *   and If-None-Match with its own ETag), a file of at least `minSize`, sent
 *   as an attachment (the engine's response cannot carry filegate's
 *   Content-Security-Policy or nosniff, which an inline file needs), and a
 *   file whose storage can sign URLs;
 * - not asked to send the body itself (`proxyAsked`, nginx's fallback).
 */
export function planDelivery(
  request: DeliveryRequest,
  plan: TransferPlan,
  file: Pick<OpenFile, 'stat' | 'realSegments' | 'signedLocation'>,
  delivery: DeliveryConfig | undefined,
  nowMs: number,
): HandOff | null {
  if (delivery === undefined || delivery.mode === 'proxy' || request.proxyAsked) return null;
  if (!isOffloadable(request, plan)) return null;
  const bodyBytes = Number(plan.headers['Content-Length']);
  if (delivery.mode === 'x-accel') {
    return { outcome: 'x-accel', status: plan.status, headers: toXAccelHeaders(plan, delivery.location, file.realSegments), bodyBytes };
  }
  const conditional = request.ifNoneMatch ?? request.ifModifiedSince ?? request.ifRange;
  const disposition = plan.headers['Content-Disposition'] ?? '';
  if (conditional !== undefined || file.stat.size < delivery.minSize || !disposition.startsWith('attachment') || file.signedLocation === undefined) return null;
  const signed = file.signedLocation(
    { contentType: plan.headers['Content-Type'] ?? 'application/octet-stream', contentDisposition: disposition, cacheControl: plan.headers['Cache-Control'] ?? 'private, no-cache' },
    delivery.ttl,
    nowMs,
  );
  return { outcome: 'redirected', status: 302, headers: toRedirectHeaders(signed.url), bodyBytes };
}

/** True when the plan's body is one that nginx or an engine sends exactly as planned (see `planDelivery`). */
function isOffloadable(request: DeliveryRequest, plan: TransferPlan): boolean {
  if (request.method !== 'GET' || request.ifMatch !== undefined || request.ifUnmodifiedSince !== undefined) return false;
  const [only, ...rest] = plan.body;
  if (only === undefined || rest.length > 0 || Buffer.isBuffer(only)) return false;
  if (plan.status === 200) return request.range === undefined;
  return plan.status === 206 && request.range !== undefined && PLAIN_SINGLE_RANGE.test(request.range.trim());
}

/**
 * The headers of a 302 to `url`. The redirect itself is never stored
 * (`no-store`): each request passes filegate's checks again, and the URL it
 * names is the same within a signing window anyway, so a browser's cache of
 * the engine's answer keeps working. Its body is empty.
 */
function toRedirectHeaders(url: string): Record<string, string> {
  return { Location: url, 'Cache-Control': 'private, no-store', 'Content-Length': '0' };
}

/**
 * The headers of an X-Accel-Redirect answer to nginx: the plan's own (nginx
 * drops all but a few, and the documented internal location adds them back
 * from `$upstream_http_*`), the few nginx would copy renamed (see
 * RENAMED_FOR_NGINX), Content-Length and Content-Range left to nginx, and
 * the internal URI of the real file. Accept-Ranges goes only with a 206:
 * nginx's range filter adds its own to a 200, never to a 206.
 */
export function toXAccelHeaders(plan: TransferPlan, location: string, realSegments: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(plan.headers)) {
    if (LEFT_TO_NGINX.has(name) || (name === 'Accept-Ranges' && plan.status !== 206)) continue;
    headers[RENAMED_FOR_NGINX[name] ?? name] = value;
  }
  headers['X-Accel-Redirect'] = toXAccelPath(location, realSegments);
  headers['Content-Length'] = '0';
  return headers;
}

/**
 * The internal URI nginx serves the file from: `location` then the real
 * path's segments, every byte outside RFC 3986's unreserved set
 * percent-encoded ("%", "?", "#", spaces, non-ASCII alike). nginx splits an
 * X-Accel-Redirect at a literal "?" and then decodes the path once
 * (ngx_http_parse_unsafe_uri), so each name reaches the file system exactly
 * as it is on disk.
 */
export function toXAccelPath(location: string, realSegments: readonly string[]): string {
  return location + realSegments.map(encodeQueryValue).join('/');
}
