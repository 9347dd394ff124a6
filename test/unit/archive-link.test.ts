// The archive link (POST /api/sign/archive): its lifetime, the scope of the principal it grants, every way it is refused, and what is answered when signing rather than by the link.

import { expect } from 'chai';
import type { Context } from 'koa';
import { toArchiveLinkPrincipal } from '../../src/auth/authenticate-archive-link.js';
import { authorize, type Principal } from '../../src/auth/principal.js';
import { configSchema, type Config, type Scope } from '../../src/config/schema.js';
import { FilegateError } from '../../src/errors.js';
import { parseQuery, type Query } from '../../src/http/query.js';
import { createLayers, type Layers } from '../../src/layers/create-layers.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { MAX_ARCHIVE_LINK_BYTES, presignArchive, signArchiveBodySchema } from '../../src/routes/sign-archive.js';
import { signArchiveDownload, signDownload, UrlSigner } from '../../src/signing/url-signer.js';
import { expectFilegateError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = NOW / 1000;
const BASE = 'http://files.test';

const configOf = (overrides: Record<string, unknown> = {}): Config =>
  configSchema.parse({ layers: { OsFs: { root: '/tmp' } }, signing: { keys: { k1: 'k1-secret-that-is-long-enough-0123456789' }, currentKey: 'k1', defaultTtl: '1h', maxTtl: '1d' }, ...overrides });
const signer = new UrlSigner(configOf().signing);

const principal = (scopes: Scope[], claims: Partial<Principal> = {}): Principal => ({ subject: 'tester', scopes: new Set(scopes), paths: null, fstypes: null, expiresAt: null, ...claims });
const contextOf = (who: Principal) => ({ state: { principal: who }, res: { once: () => undefined } }) as unknown as Context;

/** A signed path-and-query split into what verify() takes. */
function parts(url: string): { path: string; query: Query } {
  const [path, querystring] = url.split('?') as [string, string];
  return { path, query: parseQuery(querystring) };
}

/** `url` with its query changed by `edit` (the signature parameters kept as they are). */
function edited(url: string, edit: (query: URLSearchParams) => void): string {
  const parsed = new URL(url, BASE);
  edit(parsed.searchParams);
  return `${parsed.pathname}?${parsed.searchParams.toString()}`;
}

describe('archive links', () => {
  const selection = { fstype: 'OsFs', paths: ['docs', 'photos/a b.png'], format: 'zip' as const, name: 'bundle' };
  const link = signArchiveDownload(signer, selection, NOW_S + 600);

  describe('signArchiveDownload and the principal it grants', () => {
    it('is GET /api/archive with every path, the layer, the format and the name, then expires, kid and sig', () => {
      const { path, query } = parts(link);
      expect(path).to.equal('/api/archive');
      expect([...query.keys()]).to.deep.equal(['path', 'fstype', 'format', 'name', 'expires', 'kid', 'sig']);
      expect(query.get('path')).to.deep.equal(['docs', 'photos/a b.png']);
      expect(query.get('expires')).to.deep.equal([String(NOW_S + 600)]);
    });

    it('grants the scope files:archive, on that layer, for exactly those paths, until it expires, counted as its own link', () => {
      const { path, query } = parts(link);
      const grant = signer.verify('GET', path, query, NOW);
      const granted = toArchiveLinkPrincipal(grant);
      expect(granted).to.deep.equal({
        subject: null,
        scopes: new Set(['files:archive']),
        paths: [['docs'], ['photos', 'a b.png']],
        fstypes: ['OsFs'],
        expiresAt: NOW_S + 600,
        link: `k1.${query.get('sig')![0]}`,
      });
    });

    const reach: Array<[string, Scope, string, string, boolean]> = [
      ['a signed folder', 'files:archive', 'OsFs', 'docs', true],
      ['a file below a signed folder (the walk)', 'files:archive', 'OsFs', 'docs/2026/q1.txt', true],
      ['a signed file', 'files:archive', 'OsFs', 'photos/a b.png', true],
      ['another file beside a signed one', 'files:archive', 'OsFs', 'photos/other.png', false],
      ['the layer root', 'files:archive', 'OsFs', '/', false],
      ['a folder whose name starts like a signed one', 'files:archive', 'OsFs', 'docs2', false],
      ['a signed path in another layer', 'files:archive', 'media', 'docs', false],
      ['a signed path, to download', 'files:read', 'OsFs', 'docs', false],
      ['a signed path, to list', 'files:list', 'OsFs', 'docs', false],
    ];
    for (const [name, scope, layer, text, allowed] of reach) {
      it(`its principal ${allowed ? 'may' : 'may not'} reach ${name}`, () => {
        const granted = toArchiveLinkPrincipal(signer.verify('GET', parts(link).path, parts(link).query, NOW));
        const ask = () => authorize(granted, { scope, layer, segments: parseLayerPath(text, 'path').segments, shown: text });
        if (allowed) expect(ask).to.not.throw();
        else expectFilegateError(ask, 'FORBIDDEN', 403);
      });
    }
  });

  describe('every change to the link is refused, 403 FORBIDDEN', () => {
    const cases: Array<[string, () => [string, string], RegExp]> = [
      ['a path changed', () => ['GET', edited(link, (query) => query.set('path', 'private'))], /does not match/],
      ['a path added', () => ['GET', edited(link, (query) => query.append('path', 'private'))], /does not match/],
      ['a path left out', () => ['GET', edited(link, (query) => {
        const kept = query.getAll('path').slice(0, 1);
        query.delete('path');
        for (const each of kept) query.append('path', each);
      })], /does not match/],
      ['the layer changed', () => ['GET', edited(link, (query) => query.set('fstype', 'media'))], /does not match/],
      ['the format changed', () => ['GET', edited(link, (query) => query.set('format', 'tar.gz'))], /does not match/],
      ['the name changed', () => ['GET', edited(link, (query) => query.set('name', 'other'))], /does not match/],
      ['the expiry pushed back', () => ['GET', edited(link, (query) => query.set('expires', String(NOW_S + 86_400)))], /does not match/],
      ['used for HEAD', () => ['HEAD', link], /another method than HEAD/],
      ['a download\'s signature on the archive path', () => ['GET', `/api/archive?${signDownload(signer, { filepath: 'docs', fstype: 'OsFs' }, NOW_S + 600).get.split('?')[1]}`], /does not match/],
      ['the archive link\'s signature on the download path', () => ['GET', link.replace('/api/archive', '/api/download')], /does not match/],
    ];
    for (const [name, make, message] of cases) {
      it(name, () => {
        const [method, url] = make();
        const { path, query } = parts(url);
        const error = expectFilegateError(() => signer.verify(method, path, query, NOW), 'FORBIDDEN', 403);
        expect(error.message).to.match(message);
      });
    }

    it('verifies up to the second before its expiry, and is refused from that second on, saying when it expired', () => {
      const { path, query } = parts(link);
      expect(signer.verify('GET', path, query, (NOW_S + 600) * 1000 - 1).expires).to.equal(NOW_S + 600);
      const error = expectFilegateError(() => signer.verify('GET', path, query, (NOW_S + 600) * 1000), 'FORBIDDEN', 403);
      expect(error.message).to.match(/expired at 2026-11-23T12:10:00\.000Z/);
    });
  });

  describe('presignArchive: the lifetime, who may sign what, and what is answered when signing', () => {
    let root: TempDir;
    let layers: Layers;

    before(async () => {
      root = tempDir();
      root.file('docs/a.txt', 'a\n');
      root.file('docs/2026/q1.txt', 'q1\n');
      root.file('photos/one.png', 'png\n');
      root.file('private/secret.txt', 's\n');
      for (let index = 0; index < 12; index += 1) root.file(`crowd/${index}.txt`, `${index}\n`);
      layers = await createLayers(configOf({ layers: { OsFs: { root: root.dir } } }));
    });

    after(() => {
      for (const layer of layers.byName.values()) layer.close();
      root.remove();
    });

    const everything = principal(['files:sign', 'files:archive']);
    const presign = (who: Principal, paths: string[], options: { requestedMs?: number; limits?: Config['archive'] } = {}) =>
      presignArchive(contextOf(who), signer, () => BASE, options.limits ?? configOf().archive, {
        layer: layers.byName.get('OsFs')!,
        targets: paths.map((text) => parseLayerPath(text, 'path')),
        format: 'zip',
        requestedMs: options.requestedMs,
      });
    const refusal = async (action: Promise<unknown>): Promise<FilegateError> => {
      const error = await action.then(() => null, (caught: unknown) => caught);
      expect(error, 'a refusal').to.be.instanceOf(FilegateError);
      return error as FilegateError;
    };
    const nowS = () => Math.floor(Date.now() / 1000);

    it('answers an absolute link, and what the archive will hold as walked now', async () => {
      const answer = await presign(everything, ['docs', 'photos/one.png']);
      expect(answer.download_url.startsWith(`${BASE}/api/archive?path=docs&path=photos%2Fone.png&fstype=OsFs&format=zip&expires=`)).to.equal(true);
      expect([answer.entries, answer.skipped, answer.bytes]).to.deep.equal([5, 0, 2 + 3 + 4]);
    });

    const lifetimes: Array<[string, number | undefined, number | null, (now: number) => number]> = [
      ['signing.defaultTtl when none is asked', undefined, null, (now) => now + 3600],
      ['the lifetime asked', 120_000, null, (now) => now + 120],
      ['signing.maxTtl when more is asked', 30 * 86_400_000, null, (now) => now + 86_400],
      ['the token\'s own expiry when it comes sooner', undefined, 300, (now) => now + 300],
    ];
    for (const [name, requestedMs, tokenLeft, expected] of lifetimes) {
      it(`lasts ${name}`, async () => {
        const now = nowS();
        const who = tokenLeft === null ? everything : principal(['files:sign', 'files:archive'], { expiresAt: now + tokenLeft });
        const answer = await presign(who, ['docs'], { requestedMs });
        expect(answer.expiry).to.be.closeTo(expected(now), 2);
        expect(new URL(answer.download_url).searchParams.get('expires')).to.equal(String(answer.expiry));
      });
    }

    const refusals: Array<[string, Principal, string[], string, RegExp]> = [
      ['a token without files:sign', principal(['files:archive']), ['docs'], 'FORBIDDEN', /files:sign/],
      ['a token without files:archive', principal(['files:sign', 'files:read']), ['docs'], 'FORBIDDEN', /files:archive/],
      ['a path outside the token\'s paths', principal(['files:sign', 'files:archive'], { paths: [['docs']] }), ['docs', 'private'], 'FORBIDDEN', /"private"/],
      ['a layer outside the token\'s fstypes', principal(['files:sign', 'files:archive'], { fstypes: ['media'] }), ['docs'], 'FORBIDDEN', /fstype "OsFs"/],
      ['a path that does not exist', everything, ['docs', 'nope'], 'NOT_FOUND', /"nope"/],
      ['a ".." segment', everything, ['docs/../private'], 'PATH_NOT_ALLOWED', /"\.\."/],
    ];
    for (const [name, who, paths, code, message] of refusals) {
      it(`refuses ${name} when signing (${code})`, async () => {
        const error = await refusal(presign(who, paths));
        expect([error.code, error.message]).to.satisfy(([actual, text]: [string, string]) => actual === code && message.test(text));
      });
    }

    it('refuses a selection over archive.maxEntries when signing (413 ARCHIVE_TOO_LARGE), not by the link', async () => {
      const error = await refusal(presign(everything, ['crowd'], { limits: { ...configOf().archive, maxEntries: 10 } }));
      expect(error.code).to.equal('ARCHIVE_TOO_LARGE');
    });

    it(`refuses a link longer than ${MAX_ARCHIVE_LINK_BYTES} bytes (400), pointing to a package, and one just under it is made`, async () => {
      const long = (count: number) => Array.from({ length: count }, (_, index) => `${'d'.repeat(200)}${index}`);
      const error = await refusal(presign(everything, long(45)));
      expect(error.code).to.equal('BAD_REQUEST');
      expect(error.message).to.match(/too long for one link \(\d+ bytes of URL, at most 8192\).*POST \/api\/packages/);
      // Under the bound the selection is walked: these names do not exist.
      expect((await refusal(presign(everything, long(30)))).code).to.equal('NOT_FOUND');
    });

    it('takes the body POST /api/archive takes, and a lifetime', () => {
      expect(signArchiveBodySchema.safeParse({ paths: ['docs'], fstype: 'OsFs', format: 'zip', name: 'x', expires_in: 120 }).success).to.equal(true);
      expect(signArchiveBodySchema.safeParse({ paths: [] }).success).to.equal(false);
      expect(signArchiveBodySchema.safeParse({ paths: ['docs'], token: 'x' }).success).to.equal(false);
    });
  });
});
