// Table tests for a file response's Content-Security-Policy: strict for everything but inline images, audio and video, which get exactly what their viewer needs, never scripts.

import { expect } from 'chai';
import { mediaTypeOf } from '../../src/files/file-types.js';
import type { DispositionType } from '../../src/transfer/content-disposition.js';
import { CONTENT_SECURITY_POLICIES, STRICT_POLICY, toContentSecurityPolicy } from '../../src/transfer/content-security-policy.js';

const STRICT = "default-src 'none'; sandbox";
const IMAGE = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const MEDIA = "default-src 'none'; media-src 'self'; sandbox allow-same-origin";

describe('toContentSecurityPolicy', () => {
  const cases: Array<[DispositionType, string, string]> = [
    ['inline', 'image/png', IMAGE],
    ['inline', 'image/jpeg', IMAGE],
    ['inline', 'image/webp', IMAGE],
    ['inline', 'audio/wav', MEDIA],
    ['inline', 'audio/mpeg', MEDIA],
    ['inline', 'video/mp4', MEDIA],
    ['inline', 'video/webm', MEDIA],
    // The browser's PDF viewer and text view need nothing from the document's policy.
    ['inline', 'application/pdf', STRICT],
    ['inline', 'text/plain', STRICT],
    // Active types are never widened, even if a caller passed them inline.
    ['inline', 'image/svg+xml', STRICT],
    ['inline', 'text/html', STRICT],
    ['inline', 'application/xml', STRICT],
    ['inline', 'text/javascript', STRICT],
    ['inline', 'application/octet-stream', STRICT],
    // An attachment is never rendered by the browser: nothing to widen.
    ['attachment', 'image/png', STRICT],
    ['attachment', 'audio/wav', STRICT],
    ['attachment', 'video/mp4', STRICT],
    ['attachment', 'application/pdf', STRICT],
    ['attachment', 'text/plain', STRICT],
    ['attachment', 'text/html', STRICT],
  ];
  for (const [disposition, mediaType, expected] of cases) {
    it(`${disposition} ${mediaType} → ${expected}`, () => expect(toContentSecurityPolicy(disposition, mediaType)).to.equal(expected));
  }

  it('the media types of the usual file names get the policy of their kind', () => {
    const byName: Array<[string, string]> = [
      ['photo.png', IMAGE],
      ['photo.JPG', IMAGE],
      ['song.mp3', MEDIA],
      ['take.wav', MEDIA],
      ['clip.mp4', MEDIA],
      ['clip.webm', MEDIA],
      ['report.pdf', STRICT],
      ['notes.txt', STRICT],
      ['logo.svg', STRICT],
    ];
    for (const [name, expected] of byName) expect(toContentSecurityPolicy('inline', mediaTypeOf(name)), name).to.equal(expected);
  });

  it('every policy it can answer is listed, starts from default-src none, is sandboxed, and never allows scripts', () => {
    expect(STRICT_POLICY).to.equal(STRICT);
    expect([...CONTENT_SECURITY_POLICIES].sort()).to.deep.equal([STRICT, IMAGE, MEDIA].sort());
    for (const policy of CONTENT_SECURITY_POLICIES) {
      const directives = policy.split(';').map((directive) => directive.trim());
      expect(directives[0], policy).to.equal("default-src 'none'");
      expect(directives.filter((directive) => directive.split(' ')[0] === 'sandbox'), policy).to.have.length(1);
      expect(policy).to.not.match(/allow-scripts|script-src|unsafe-eval|\*/);
    }
  });
});
