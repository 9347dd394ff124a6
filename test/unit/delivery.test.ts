// Tests for planDelivery (who sends a planned body: filegate, the object store behind a 302, nginx behind X-Accel-Redirect) and the X-Accel-Redirect answer it builds.

import { expect } from 'chai';
import type { DeliveryConfig } from '../../src/config/schema.js';
import { isFilegateError } from '../../src/errors.js';
import { mediaTypeOf } from '../../src/files/file-types.js';
import type { FileStat, ResponseOverrides, SignedLocation } from '../../src/layers/layer.js';
import type { DispositionType } from '../../src/transfer/content-disposition.js';
import { planDelivery, toXAccelHeaders, toXAccelPath, type DeliveryRequest } from '../../src/transfer/delivery.js';
import { planTransfer, type TransferPlan } from '../../src/transfer/plan-transfer.js';
import { toEntityTag, toLastModified } from '../../src/transfer/validators.js';

const options = { cacheControl: 'private, no-cache', maxRanges: 16, newBoundary: () => 'BOUNDARY' };
const STAT: FileStat = { kind: 'file', size: 1000, mtimeMs: 1_700_000_000_000, identity: 'x' };
const ETAG = toEntityTag(STAT);
const LAST_MODIFIED = toLastModified(STAT);
const OTHER_ETAG = '"other"';

const X_ACCEL: DeliveryConfig = { mode: 'x-accel', location: '/_x/media/' };
const REDIRECT: DeliveryConfig = { mode: 'redirect', minSize: 500, ttl: 300_000 };
const PROXY: DeliveryConfig = { mode: 'proxy' };

type Headers = Partial<Omit<DeliveryRequest, 'method' | 'proxyAsked'>>;

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly headers?: Headers;
  readonly filename?: string;
  readonly disposition?: DispositionType;
  readonly size?: number;
  readonly proxyAsked?: boolean;
}

/** Plans the request (null when planTransfer raises 412 or 416: nothing to hand off) and decides its delivery. */
function decide(delivery: DeliveryConfig | undefined, c: Case, signs = true): { plan: TransferPlan; handOff: ReturnType<typeof planDelivery>; signedWith: ResponseOverrides[] } | null {
  const stat = { ...STAT, size: c.size ?? STAT.size };
  const filename = c.filename ?? 'clip.bin';
  const request: DeliveryRequest = { method: c.method ?? 'GET', proxyAsked: c.proxyAsked ?? false, ...c.headers };
  let plan: TransferPlan;
  try {
    plan = planTransfer({ ...request, disposition: c.disposition ?? 'attachment' }, { stat, filename, mediaType: mediaTypeOf(filename) }, options);
  } catch (error) {
    if (isFilegateError(error)) return null;
    throw error;
  }
  const signedWith: ResponseOverrides[] = [];
  const signedLocation = (overrides: ResponseOverrides, ttlMs: number, nowMs: number): SignedLocation => {
    signedWith.push(overrides);
    return { url: `http://engine.test/b/key?ttl=${ttlMs}&now=${nowMs}`, expiresAtMs: nowMs + ttlMs };
  };
  const file = { stat, realSegments: ['real dir', filename], ...(signs ? { signedLocation } : {}) };
  return { plan, handOff: planDelivery(request, plan, file, delivery, 42_000), signedWith };
}

describe('planDelivery', () => {
  describe('x-accel: nginx sends a GET\'s 200 or single-range 206, filegate everything else', () => {
    const table: Array<Case & { expected: null | 200 | 206 }> = [
      { name: 'a plain GET', expected: 200 },
      { name: 'HEAD (no body to send)', method: 'HEAD', expected: null },
      { name: 'one plain range', headers: { range: 'bytes=0-9' }, expected: 206 },
      { name: 'an open range', headers: { range: 'bytes=990-' }, expected: 206 },
      { name: 'a suffix range', headers: { range: 'bytes=-10' }, expected: 206 },
      { name: 'a range past the end, clamped', headers: { range: 'bytes=990-5000' }, expected: 206 },
      { name: 'two ranges (multipart)', headers: { range: 'bytes=0-9,20-29' }, expected: null },
      { name: 'two ranges coalesced into one', headers: { range: 'bytes=0-9,5-15' }, expected: null },
      { name: 'a range with spaces in it', headers: { range: 'bytes= 0-9' }, expected: null },
      { name: 'a range in another case', headers: { range: 'Bytes=0-9' }, expected: null },
      { name: 'a range with a 16-digit number', headers: { range: 'bytes=0-1234567890123456' }, expected: null },
      { name: 'a malformed range (ignored: 200)', headers: { range: 'bytes=abc' }, expected: null },
      { name: 'too many ranges (ignored: 200)', headers: { range: Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',').replace(/^/, 'bytes=') }, expected: null },
      { name: 'a range under a stale If-Range (200)', headers: { range: 'bytes=0-9', ifRange: OTHER_ETAG }, expected: null },
      { name: 'a range under a matching If-Range', headers: { range: 'bytes=0-9', ifRange: ETAG }, expected: 206 },
      { name: 'a range under a matching If-Range date', headers: { range: 'bytes=0-9', ifRange: LAST_MODIFIED }, expected: 206 },
      { name: 'If-None-Match that matches (304)', headers: { ifNoneMatch: ETAG }, expected: null },
      { name: 'If-None-Match that does not match', headers: { ifNoneMatch: OTHER_ETAG }, expected: 200 },
      { name: 'If-Modified-Since before the change', headers: { ifModifiedSince: 'Mon, 01 Jan 2001 00:00:00 GMT' }, expected: 200 },
      { name: 'If-Match that matches (nginx would answer 412)', headers: { ifMatch: ETAG }, expected: null },
      { name: 'If-Unmodified-Since that passes (nginx would compare its own time)', headers: { ifUnmodifiedSince: 'Fri, 01 Jan 2100 00:00:00 GMT' }, expected: null },
      { name: 'an empty file', size: 0, expected: null },
      { name: 'nginx\'s fallback asking filegate to send it', proxyAsked: true, expected: null },
      { name: 'an inline image (nginx adds the CSP back)', filename: 'a.png', disposition: 'inline', expected: 200 },
    ];
    for (const c of table) {
      it(`${c.name}: ${c.expected === null ? 'filegate' : `nginx, ${c.expected}`}`, () => {
        const decided = decide(X_ACCEL, c);
        if (c.expected === null) {
          expect(decided?.handOff ?? null).to.equal(null);
          return;
        }
        const { plan, handOff } = decided!;
        expect(handOff?.outcome).to.equal('x-accel');
        expect(handOff?.status).to.equal(c.expected);
        expect(plan.status).to.equal(c.expected);
        expect(handOff?.bodyBytes).to.equal(Number(plan.headers['Content-Length']));
        expect(handOff?.headers['X-Accel-Redirect']).to.equal(`/_x/media/real%20dir/${c.filename ?? 'clip.bin'}`);
      });
    }
  });

  describe('redirect: the object store sends an unconditional GET of a large attachment', () => {
    const table: Array<Case & { expected: boolean }> = [
      { name: 'a plain GET of a file over minSize', expected: true },
      { name: 'a file of exactly minSize', size: 500, expected: true },
      { name: 'a file under minSize', size: 499, expected: false },
      { name: 'HEAD', method: 'HEAD', expected: false },
      { name: 'one plain range', headers: { range: 'bytes=100-199' }, expected: true },
      { name: 'two ranges', headers: { range: 'bytes=0-9,20-29' }, expected: false },
      { name: 'a range under a matching If-Range (the engine compares its own ETag)', headers: { range: 'bytes=0-9', ifRange: ETAG }, expected: false },
      { name: 'a range under a stale If-Range', headers: { range: 'bytes=0-9', ifRange: OTHER_ETAG }, expected: false },
      { name: 'If-None-Match that does not match', headers: { ifNoneMatch: OTHER_ETAG }, expected: false },
      { name: 'If-Modified-Since before the change', headers: { ifModifiedSince: 'Mon, 01 Jan 2001 00:00:00 GMT' }, expected: false },
      { name: 'If-Match that matches', headers: { ifMatch: ETAG }, expected: false },
      { name: 'an inline image (the engine cannot send the CSP)', filename: 'a.png', disposition: 'inline', expected: false },
      { name: 'inline asked for an active type (sent as an attachment)', filename: 'a.html', disposition: 'inline', expected: true },
      { name: 'nginx\'s fallback header', proxyAsked: true, expected: false },
    ];
    for (const c of table) {
      it(`${c.name}: ${c.expected ? '302' : 'filegate'}`, () => {
        const decided = decide(REDIRECT, c);
        if (!c.expected) {
          expect(decided?.handOff ?? null).to.equal(null);
          return;
        }
        const { plan, handOff, signedWith } = decided!;
        expect(handOff?.outcome).to.equal('redirected');
        expect(handOff?.status).to.equal(302);
        expect(handOff?.headers).to.deep.equal({ Location: 'http://engine.test/b/key?ttl=300000&now=42000', 'Cache-Control': 'private, no-store', 'Content-Length': '0' });
        expect(handOff?.bodyBytes).to.equal(Number(plan.headers['Content-Length']));
        expect(signedWith).to.deep.equal([{ contentType: plan.headers['Content-Type'], contentDisposition: plan.headers['Content-Disposition'], cacheControl: 'private, no-cache' }]);
      });
    }

    it('a storage that cannot sign URLs: filegate', () => {
      expect(decide(REDIRECT, { name: '' }, false)?.handOff).to.equal(null);
    });
  });

  it('proxy, or no delivery at all: filegate always', () => {
    for (const delivery of [PROXY, undefined]) {
      expect(decide(delivery, { name: '' })?.handOff).to.equal(null);
      expect(decide(delivery, { name: '', headers: { range: 'bytes=0-9' } })?.handOff).to.equal(null);
    }
  });
});

describe('toXAccelPath', () => {
  const table: Array<[segments: string[], expected: string]> = [
    [['a.txt'], '/_x/a.txt'],
    [['dir', 'sub', 'a.txt'], '/_x/dir/sub/a.txt'],
    [['a b%?#é.txt'], '/_x/a%20b%25%3F%23%C3%A9.txt'],
    [['unreserved-._~kept'], '/_x/unreserved-._~kept'],
    [['plus+semi;amp&eq=quote"\'back\\'], '/_x/plus%2Bsemi%3Bamp%26eq%3Dquote%22%27back%5C'],
    [['..dots..', '.hidden'], '/_x/..dots../.hidden'],
    [['line\nbreak\ttab'], '/_x/line%0Abreak%09tab'],
    [['日本'], '/_x/%E6%97%A5%E6%9C%AC'],
  ];
  for (const [segments, expected] of table) {
    it(`${JSON.stringify(segments)} → ${expected}`, () => expect(toXAccelPath('/_x/', segments)).to.equal(expected));
  }
});

describe('toXAccelHeaders', () => {
  const full = planTransfer({ method: 'GET', disposition: 'attachment' }, { stat: STAT, filename: 'a.bin', mediaType: 'application/octet-stream' }, options);
  const partial = planTransfer({ method: 'GET', disposition: 'attachment', range: 'bytes=0-9' }, { stat: STAT, filename: 'a.bin', mediaType: 'application/octet-stream' }, options);

  it('leaves length and range to nginx, renames what nginx would copy into a fallback, keeps the rest', () => {
    const headers = toXAccelHeaders(partial, '/_x/', ['a.bin']);
    expect(headers).to.deep.equal({
      'Content-Type': 'application/octet-stream',
      'X-Filegate-Content-Disposition': partial.headers['Content-Disposition'],
      'X-Filegate-Cache-Control': 'private, no-cache',
      'X-Filegate-Accept-Ranges': 'bytes',
      ETag: ETAG,
      'Last-Modified': LAST_MODIFIED,
      'Content-Security-Policy': partial.headers['Content-Security-Policy'],
      'X-Content-Type-Options': 'nosniff',
      'Content-Description': 'File Transfer',
      'Content-Transfer-Encoding': 'binary',
      'X-Accel-Redirect': '/_x/a.bin',
      'Content-Length': '0',
    });
  });

  it('sends no Accept-Ranges with a 200: nginx adds its own there', () => {
    const headers = toXAccelHeaders(full, '/_x/', ['a.bin']);
    expect(Object.keys(headers).filter((name) => /accept-ranges/i.test(name))).to.deep.equal([]);
    expect(headers['Content-Length']).to.equal('0');
    expect(headers).to.not.have.property('Content-Range');
  });
});
