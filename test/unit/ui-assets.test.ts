// The browse page's built files: which stored coding answers an Accept-Encoding, one ETag per coding, and a page that was never built.

import { expect } from 'chai';
import { chooseCoding, loadUiAssets, toEntityTag, type Coding, type UiAsset } from '../../src/ui/ui-assets.js';
import { tempDir } from '../helpers/fixtures.js';

describe('chooseCoding (RFC 9110 §12.5.3)', () => {
  const both = new Set<Coding>(['br', 'gzip']);
  const cases: Array<[string | undefined, ReadonlySet<Coding>, Coding | null]> = [
    [undefined, both, null],
    ['', both, null],
    ['identity', both, null],
    ['gzip, deflate, br', both, 'br'],
    ['gzip', both, 'gzip'],
    ['x-gzip', both, 'gzip'],
    ['GZIP', both, 'gzip'],
    ['br;q=0, gzip', both, 'gzip'],
    ['br;q=0.1, gzip;q=1', both, 'br'],
    ['*', both, 'br'],
    ['*;q=0', both, null],
    ['*, br;q=0', both, 'gzip'],
    ['gzip;q=0, br;q=0', both, null],
    ['br', new Set<Coding>(['gzip']), null],
    ['br, gzip', new Set<Coding>(['gzip']), 'gzip'],
    ['br;q=abc, gzip', both, 'gzip'],
    [' , br ;  q=0.5 ', both, 'br'],
  ];
  for (const [header, stored, expected] of cases) {
    it(`${JSON.stringify(header)} with ${[...stored].join('+')} stored → ${expected ?? 'the bytes as they are'}`, () => {
      expect(chooseCoding(header, stored)).to.equal(expected);
    });
  }
});

describe('toEntityTag', () => {
  it('gives each coding a strong tag of its own', () => {
    const asset: UiAsset = { body: Buffer.from('x'), mediaType: 'text/css; charset=utf-8', hash: 'abc', coded: new Map() };
    expect([toEntityTag(asset, null), toEntityTag(asset, 'br'), toEntityTag(asset, 'gzip')]).to.deep.equal(['"abc"', '"abc-br"', '"abc-gzip"']);
  });
});

describe('loadUiAssets', () => {
  it('is null for a folder with no built page (the routes then answer 404 naming the build)', () => {
    const empty = tempDir();
    try {
      expect(loadUiAssets(empty.dir)).to.equal(null);
    } finally {
      empty.remove();
    }
  });

  it('reads a built page: the page, the favicon, every asset with its stored codings, and its type', () => {
    const built = tempDir();
    try {
      built.file('index.html', '<!doctype html>');
      built.file('index.html.gz', 'gz');
      built.file('favicon.ico', 'ico');
      built.file('assets/app.ABCDEFGH.js', 'js');
      built.file('assets/app.ABCDEFGH.js.br', 'br');
      built.file('assets/style.IJKLMNOP.css', 'css');
      const assets = loadUiAssets(built.dir)!;
      expect([...assets.assets.keys()].sort()).to.deep.equal(['app.ABCDEFGH.js', 'style.IJKLMNOP.css']);
      expect(assets.page.mediaType).to.equal('text/html; charset=utf-8');
      expect([...assets.page.coded.keys()]).to.deep.equal(['gzip']);
      expect(assets.favicon.mediaType).to.equal('image/x-icon');
      expect(assets.assets.get('app.ABCDEFGH.js')!.mediaType).to.equal('text/javascript; charset=utf-8');
      expect([...assets.assets.get('app.ABCDEFGH.js')!.coded.keys()]).to.deep.equal(['br']);
      expect(assets.assets.get('style.IJKLMNOP.css')!.coded.size).to.equal(0);
    } finally {
      built.remove();
    }
  });
});
