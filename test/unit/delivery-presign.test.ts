// Tests for presignGet: the same URL within a signing window, its lifetime, byte-exact keys, filegate's response headers in it, and nothing of anyone but the layer.

import { expect } from 'chai';
import { presignGet, type PresignTarget } from '../../src/layers/s3/presign.js';

const TARGET: PresignTarget = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'media',
  forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
};
const OVERRIDES = {
  contentType: 'video/mp4',
  contentDisposition: 'attachment; filename="a b.mp4"; filename*=UTF-8\'\'a%20b.mp4',
  cacheControl: 'private, no-cache',
};
const TTL = 300_000;
// 2024-01-01T00:02:30Z: the start of a 150-second window.
const WINDOW_START = Date.UTC(2024, 0, 1, 0, 2, 30);

const sign = (nowMs: number, key = 'clips/a b.mp4', target = TARGET) => presignGet(target, key, OVERRIDES, TTL, nowMs);
const queryOf = (url: string) => Object.fromEntries(url.slice(url.indexOf('?') + 1).split('&').map((pair) => pair.split('=') as [string, string]));

describe('presignGet', () => {
  it('gives the same URL for every request within one window of half the ttl', () => {
    const first = sign(WINDOW_START);
    for (const offset of [1, 999, 60_000, 149_999]) expect(sign(WINDOW_START + offset)).to.deep.equal(first);
    expect(sign(WINDOW_START + 150_000).url).to.not.equal(first.url);
    expect(sign(WINDOW_START - 1).url).to.not.equal(first.url);
  });

  it('is signed at the window\'s start and lives the ttl from there: always at least half the ttl from now', () => {
    for (const offset of [0, 1, 75_000, 149_999]) {
      const now = WINDOW_START + offset;
      const { url, expiresAtMs } = sign(now);
      const query = queryOf(url);
      expect(query['X-Amz-Date']).to.equal('20240101T000230Z');
      expect(query['X-Amz-Expires']).to.equal('300');
      expect(expiresAtMs).to.equal(WINDOW_START + TTL);
      expect(expiresAtMs - now).to.be.at.least(TTL / 2).and.at.most(TTL);
    }
  });

  it('carries filegate\'s Content-Type, Content-Disposition and Cache-Control, every byte outside the unreserved set escaped', () => {
    const query = queryOf(sign(WINDOW_START).url);
    expect(query['response-content-type']).to.equal('video%2Fmp4');
    expect(query['response-cache-control']).to.equal('private%2C%20no-cache');
    expect(decodeURIComponent(query['response-content-disposition']!)).to.equal(OVERRIDES.contentDisposition);
    expect(query['response-content-disposition']).to.match(/^[A-Za-z0-9._~%-]+$/);
  });

  it('signs the host header only, with the layer\'s key id, and never shows the secret', () => {
    const { url } = sign(WINDOW_START);
    const query = queryOf(url);
    expect(query['X-Amz-SignedHeaders']).to.equal('host');
    expect(query['X-Amz-Algorithm']).to.equal('AWS4-HMAC-SHA256');
    expect(query['X-Amz-Credential']).to.equal('AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request');
    expect(query['X-Amz-Signature']).to.match(/^[0-9a-f]{64}$/);
    expect(url).to.not.include('wJalrXUtnFEMI').and.not.include(encodeURIComponent(TARGET.credentials.secretAccessKey));
    expect(Object.keys(query).sort()).to.deep.equal([
      'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Signature', 'X-Amz-SignedHeaders',
      'response-cache-control', 'response-content-disposition', 'response-content-type',
    ]);
  });

  it('names the key byte for byte: dot segments, empty segments and reserved characters kept as they are', () => {
    const table: Array<[key: string, path: string]> = [
      ['a b.mp4', '/media/a%20b.mp4'],
      ['x/../y/./z', '/media/x/../y/./z'],
      ['a//b', '/media/a//b'],
      ['100%?#+.txt', '/media/100%25%3F%23%2B.txt'],
      ['é/日本', '/media/%C3%A9/%E6%97%A5%E6%9C%AC'],
    ];
    for (const [key, path] of table) {
      const { url } = sign(WINDOW_START, key);
      expect(url.slice(0, url.indexOf('?')), key).to.equal(`http://127.0.0.1:7480${path}`);
    }
  });

  it('puts the bucket in the host name unless the layer asks for path style', () => {
    const { url } = sign(WINDOW_START, 'a.mp4', { ...TARGET, endpoint: 'https://s3.example.com', forcePathStyle: false });
    expect(url.startsWith('https://media.s3.example.com/a.mp4?')).to.equal(true);
  });

  it('differs by key, by ttl and by the headers asked for', () => {
    const base = sign(WINDOW_START).url;
    expect(sign(WINDOW_START, 'clips/other.mp4').url).to.not.equal(base);
    expect(presignGet(TARGET, 'clips/a b.mp4', { ...OVERRIDES, contentType: 'text/plain' }, TTL, WINDOW_START).url).to.not.equal(base);
    expect(presignGet(TARGET, 'clips/a b.mp4', OVERRIDES, 600_000, WINDOW_START).url).to.not.equal(base);
  });
});
