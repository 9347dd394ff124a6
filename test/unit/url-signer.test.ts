// UrlSigner: the canonical request, signing and every way a signed URL is refused, with the message that says which.

import { expect } from 'chai';
import { parseQuery } from '../../src/http/query.js';
import { configSchema } from '../../src/config/schema.js';
import { canonicalRequest, encodeQueryComponent, signDownload, UrlSigner } from '../../src/signing/url-signer.js';
import { expectFilegateError } from '../helpers/assertions.js';

const KEY_1 = 'k1-secret-that-is-long-enough-0123456789';
const KEY_2 = 'k2-secret-that-is-long-enough-9876543210';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = NOW / 1000;

function signerWith(signing: Record<string, unknown>): UrlSigner {
  return new UrlSigner(configSchema.parse({ layers: { OsFs: { root: '/tmp' } }, signing }).signing);
}

const signer = signerWith({ keys: { k1: KEY_1 }, currentKey: 'k1' });

/** Splits a signed path-and-query into what verify() takes. */
function parts(url: string): { path: string; query: ReturnType<typeof parseQuery> } {
  const [path, querystring] = url.split('?') as [string, string];
  return { path, query: parseQuery(querystring) };
}

describe('UrlSigner', () => {
  const urls = signDownload(signer, { filepath: 'docs/a b/ünï+x.txt', fstype: 'OsFs' }, NOW_S + 3600);

  describe('canonicalRequest', () => {
    it('leaves sig out, decodes once, encodes RFC 3986 and sorts, so two spellings of one URL agree', () => {
      const a = canonicalRequest('GET', '/api/download', parseQuery('fstype=OsFs&filepath=a%2Fb%20c.txt&sig=zzz'));
      const b = canonicalRequest('GET', '/api/download', parseQuery('filepath=a/b+c.txt&fstype=OsFs'));
      expect(a).to.equal(b);
      expect(a).to.equal('GET\n/api/download\nfilepath=a%2Fb%20c.txt&fstype=OsFs');
    });
    it("encodes ! ' ( ) * too", () => {
      expect(encodeQueryComponent("!'()*")).to.equal('%21%27%28%29%2A');
    });
  });

  describe('a signed URL verifies', () => {
    it('for GET with the GET URL, granting its parameters', () => {
      const { path, query } = parts(urls.get);
      const grant = signer.verify('GET', path, query, NOW);
      expect(grant.query.get('filepath')).to.deep.equal(['docs/a b/ünï+x.txt']);
      expect(grant.kid).to.equal('k1');
      expect(grant.expires).to.equal(NOW_S + 3600);
    });
    it('for HEAD with the HEAD URL', () => {
      const { path, query } = parts(urls.head);
      expect(signer.verify('HEAD', path, query, NOW).method).to.equal('HEAD');
    });
    it('with a retired key still listed in signing.keys (rotation)', () => {
      const rotated = signerWith({ keys: { k1: KEY_1, k2: KEY_2 }, currentKey: 'k2' });
      const { path, query } = parts(urls.get);
      expect(rotated.verify('GET', path, query, NOW).kid).to.equal('k1');
      const fresh = signDownload(rotated, { filepath: 'x', fstype: 'OsFs' }, NOW_S + 60);
      expect(parts(fresh.get).query.get('kid')).to.deep.equal(['k2']);
    });
    it('up to the second before it expires', () => {
      const { path, query } = parts(urls.get);
      expect(() => signer.verify('GET', path, query, (NOW_S + 3600) * 1000 - 1)).not.to.throw();
    });
  });

  describe('a signed URL is refused, 403 FORBIDDEN saying which', () => {
    const get = urls.get;
    const cases: Array<[string, () => void, RegExp]> = [
      ['the filepath changed', () => verifyEdited(get, (q) => q.replace('filepath=docs', 'filepath=doc2')), /does not match/],
      ['the fstype changed', () => verifyEdited(get, (q) => q.replace('fstype=OsFs', 'fstype=media')), /does not match/],
      ['expires moved later', () => verifyEdited(get, (q) => q.replace(/expires=\d+/, `expires=${NOW_S + 7200}`)), /does not match/],
      ['a parameter added', () => verifyEdited(get, (q) => `${q}&disposition=inline`), /does not match/],
      ['a parameter removed', () => verifyEdited(get, (q) => q.replace('&fstype=OsFs', '')), /does not match/],
      ['a parameter repeated', () => verifyEdited(get, (q) => `${q}&fstype=OsFs`), /does not match/],
      ['a token added', () => verifyEdited(get, (q) => `${q}&token=abc`), /does not match/],
      ['the GET URL used for HEAD', () => signer.verify('HEAD', parts(get).path, parts(get).query, NOW), /another method than HEAD/],
      ['another path', () => signer.verify('GET', '/api/archive', parts(get).query, NOW), /does not match/],
      ['one character of sig changed', () => verifyEdited(get, (q) => q.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)), /does not match/],
      ['sig too short', () => verifyEdited(get, (q) => q.replace(/sig=[^&]+/, 'sig=abc')), /sig\) is malformed/],
      ['sig not base64url', () => verifyEdited(get, (q) => q.replace(/sig=.{3}/, 'sig=%2B%2F%3D')), /sig\) is malformed/],
      ['sig repeated', () => verifyEdited(get, (q) => `${q}&${/sig=[^&]+/.exec(q)![0]}`), /"sig" parameter is repeated/],
      ['sig missing', () => verifyEdited(get, (q) => q.replace(/&sig=[^&]+/, '')), /lacks its "sig"/],
      ['kid missing', () => verifyEdited(get, (q) => q.replace('&kid=k1', '')), /lacks its "kid"/],
      ['an unknown kid', () => verifyEdited(get, (q) => q.replace('kid=k1', 'kid=k9')), /unknown key "k9"/],
      ['expires not digits', () => verifyEdited(get, (q) => q.replace(/expires=\d+/, 'expires=1e10')), /digits only/],
      ['expires negative', () => verifyEdited(get, (q) => q.replace(/expires=\d+/, 'expires=-1')), /digits only/],
      ['expired', () => signer.verify('GET', parts(get).path, parts(get).query, (NOW_S + 3600) * 1000), /expired at 2026-11-23T13:00:00.000Z/],
    ];
    for (const [name, run, message] of cases) {
      it(name, () => {
        expect(expectFilegateError(run, 'FORBIDDEN', 403).message).to.match(message);
      });
    }
    it('a key removed from signing.keys: the URLs it signed stop working', () => {
      const removed = signerWith({ keys: { k2: KEY_2 }, currentKey: 'k2' });
      expect(expectFilegateError(() => removed.verify('GET', parts(get).path, parts(get).query, NOW), 'FORBIDDEN', 403).message).to.match(/unknown key "k1"/);
    });
  });

  describe('expiryFor', () => {
    const bound = signerWith({ keys: { k1: KEY_1 }, currentKey: 'k1', defaultTtl: '1h', maxTtl: '1d', boundToToken: true });
    const free = signerWith({ keys: { k1: KEY_1 }, currentKey: 'k1', defaultTtl: '1h', maxTtl: '1d', boundToToken: false });
    const cases: Array<[string, UrlSigner, number | undefined, number | null, number]> = [
      ['the default lifetime', bound, undefined, null, NOW_S + 3600],
      ['a requested lifetime', bound, 600_000, null, NOW_S + 600],
      ['capped by maxTtl', bound, 30 * 86_400_000, null, NOW_S + 86_400],
      ['never past the token when bound', bound, undefined, NOW_S + 60, NOW_S + 60],
      ['past the token when not bound', free, undefined, NOW_S + 60, NOW_S + 3600],
    ];
    for (const [name, which, requested, tokenExpires, expected] of cases) {
      it(name, () => expect(which.expiryFor(requested, tokenExpires, NOW)).to.equal(expected));
    }
  });

  it('without a current key, signing is refused with a message naming the settings', () => {
    const off = signerWith({});
    expect(off.enabled).to.equal(false);
    expect(expectFilegateError(() => signDownload(off, { filepath: 'a', fstype: 'OsFs' }, NOW_S + 1), 'FORBIDDEN', 403).message).to.match(/signing\.keys and signing\.currentKey/);
  });
});

/** Verifies `url` for GET after `edit` rewrote its query string. */
function verifyEdited(url: string, edit: (querystring: string) => string): void {
  const [path, querystring] = url.split('?') as [string, string];
  signer.verify('GET', path, parseQuery(edit(querystring)), NOW);
}
