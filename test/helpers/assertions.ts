// Shared assertions: the headers every file response carries, and the shape of every error.

import { expect } from 'chai';
import { FilegateError } from '../../src/errors.js';

// The exact policies of SPEC, Transfer semantics, written out here rather than
// imported from src, so that changing a policy means changing the tests too.
const STRICT_POLICY = "default-src 'none'; sandbox";
const IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const MEDIA_POLICY = "default-src 'none'; media-src 'self'; sandbox allow-same-origin";

/**
 * The Content-Security-Policy a file response must carry: strict for an
 * attachment, and for a file served inline the policy of its kind (images;
 * audio and video; strict for PDF, text and anything else).
 */
export function expectedPolicy(disposition: 'inline' | 'attachment', mediaType: string): string {
  if (disposition === 'attachment' || mediaType === 'image/svg+xml') return STRICT_POLICY;
  const top = mediaType.slice(0, mediaType.indexOf('/'));
  if (top === 'image') return IMAGE_POLICY;
  return top === 'audio' || top === 'video' ? MEDIA_POLICY : STRICT_POLICY;
}

/**
 * Checks the headers the SPEC requires on every file response (200, 206 and
 * HEAD alike). The Content-Security-Policy must be exactly the one for how the
 * file was served (its Content-Disposition) and its kind (its Content-Type, or
 * `mediaType`, which an inline multipart/byteranges answer must name).
 */
export function expectFileHeaders(response: Response, options: { mediaType?: string } = {}): void {
  const h = response.headers;
  expect(h.get('content-type'), 'Content-Type').to.be.a('string').and.not.equal('');
  expect(h.get('content-length'), 'Content-Length').to.match(/^\d+$/);
  expect(h.get('content-disposition'), 'Content-Disposition').to.match(/^(attachment|inline); filename="[^"\r\n]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_`|~%-]*$/);
  expect(h.get('content-description')).to.equal('File Transfer');
  expect(h.get('content-transfer-encoding')).to.equal('binary');
  expect(h.get('accept-ranges')).to.equal('bytes');
  expect(h.get('etag'), 'ETag').to.match(/^"[^"]+"$/);
  expect(h.get('last-modified'), 'Last-Modified').to.match(/GMT$/);
  expect(h.get('cache-control')).to.equal('private, no-cache');
  expect(h.get('x-content-type-options')).to.equal('nosniff');
  const disposition = h.get('content-disposition')?.startsWith('inline;') ? 'inline' : 'attachment';
  const contentType = (h.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (disposition === 'inline' && contentType === 'multipart/byteranges' && options.mediaType === undefined) {
    expect.fail('an inline multipart/byteranges answer does not say its kind: pass the file\'s mediaType');
  }
  const policy = h.get('content-security-policy');
  expect(policy, 'Content-Security-Policy').to.equal(expectedPolicy(disposition, options.mediaType ?? contentType));
  expect(policy, 'Content-Security-Policy').to.not.match(/allow-scripts|script-src/);
  expect(h.get('x-request-id'), 'X-Request-Id').to.be.a('string').and.not.equal('');
}

/**
 * Checks an error response: its status, its JSON `{error, code}` body, an
 * X-Request-Id, and that the message leaks no absolute server path, errno or stack.
 */
export async function expectError(response: Response, status: number, code: string, leakCheck: string[] = []): Promise<{ error: string; code: string }> {
  const text = await response.text();
  expect(response.status, `status of ${text}`).to.equal(status);
  expect(response.headers.get('content-type')).to.match(/^application\/json/);
  expect(response.headers.get('x-request-id')).to.be.a('string').and.not.equal('');
  const body = JSON.parse(text) as { error: string; code: string };
  expect(Object.keys(body).sort()).to.deep.equal(['code', 'error']);
  expect(body.code).to.equal(code);
  expect(body.error).to.be.a('string').and.not.equal('');
  expect(body.error).to.not.match(/\bE[A-Z]{3,}\b|\n\s+at |\/tmp\/|\/work\/|\/proc\//);
  for (const secret of leakCheck) expect(text).to.not.include(secret);
  return body;
}

/** Runs `action`, expects it to throw a FilegateError with `code` and `status`, and returns the error. */
export function expectFilegateError(action: () => unknown, code: string, status: number): FilegateError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'an error was thrown').to.be.instanceOf(FilegateError);
  const error = caught as FilegateError;
  expect(error.code).to.equal(code);
  expect(error.status).to.equal(status);
  return error;
}
