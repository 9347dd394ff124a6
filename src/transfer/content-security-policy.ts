// Decides a file response's Content-Security-Policy: sandboxed and loading nothing, widened for a file served inline only as far as the browser's own viewer needs.

import { isPassiveType } from '../files/file-types.js';
import type { DispositionType } from './content-disposition.js';

/** Attachments, archives and anything not shown inline: load nothing, run nothing, an opaque origin. */
export const STRICT_POLICY = "default-src 'none'; sandbox";

// What the browser's own viewer needs when it opens the URL itself, measured in
// Chromium 156 (test/integration/browser-media.test.ts opens each kind):
// - an image draws under STRICT_POLICY, but the viewer's page (dark background,
//   centred image, zoom cursor) is three inline styles, refused without
//   `style-src 'unsafe-inline'`;
// - audio and video play in a `<video crossorigin="anonymous">` that fetches
//   the URL again: `media-src 'self'` lets it, and `allow-same-origin` keeps
//   the document's origin (under a bare `sandbox` the fetch comes from origin
//   "null" and CORS refuses it: 0:00, no range ever asked);
// - PDF is drawn by the browser's viewer in a frame of its own, which this
//   policy does not reach: STRICT_POLICY displays it;
// - plain text is a `<pre>` the browser builds, displayed under STRICT_POLICY.
// None gets `allow-scripts`: nothing the file holds may run, whatever its origin.
const IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const MEDIA_POLICY = "default-src 'none'; media-src 'self'; sandbox allow-same-origin";

/** Every value toContentSecurityPolicy answers, for the API description. */
export const CONTENT_SECURITY_POLICIES = [STRICT_POLICY, IMAGE_POLICY, MEDIA_POLICY] as const;

/**
 * The policy for a file served with `disposition` (what is actually sent,
 * not what was asked) and `mediaType`: STRICT_POLICY unless the file is a
 * passive type served inline whose viewer needs more (images, audio, video).
 */
export function toContentSecurityPolicy(disposition: DispositionType, mediaType: string): string {
  // Active types never go inline; checked here too so no caller can widen one.
  if (disposition !== 'inline' || !isPassiveType(mediaType)) return STRICT_POLICY;
  if (mediaType.startsWith('image/')) return IMAGE_POLICY;
  if (mediaType.startsWith('audio/') || mediaType.startsWith('video/')) return MEDIA_POLICY;
  return STRICT_POLICY;
}
