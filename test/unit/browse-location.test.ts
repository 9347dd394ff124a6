// The browse page's place in the URL fragment: a token handed over, folders with any name, sort and filters, and the listing URL they make.

import { expect } from 'chai';
import { parseFragment, ROOT, toAncestor, toChild, toFragment, toListUrl, toParent, type BrowseLocation } from '../../src/ui/client/browse-location.js';

const at = (change: Partial<BrowseLocation>): BrowseLocation => ({ ...ROOT, fstype: 'OsFs', ...change });

describe('parseFragment', () => {
  const cases: Array<[string, ReturnType<typeof parseFragment>]> = [
    ['', { kind: 'browse', location: ROOT }],
    ['#', { kind: 'browse', location: ROOT }],
    ['#/', { kind: 'browse', location: ROOT }],
    ['#token=eyJ.abc.def', { kind: 'token', token: 'eyJ.abc.def' }],
    ['#token=eyJ.abc.def&x=1', { kind: 'token', token: 'eyJ.abc.def' }],
    ['#token=%20eyJ.a.b%20', { kind: 'token', token: 'eyJ.a.b' }],
    ['#/OsFs', { kind: 'browse', location: at({}) }],
    ['#/OsFs/docs/2026', { kind: 'browse', location: at({ segments: ['docs', '2026'] }) }],
    ['#/OsFs/a%20b/%C3%BCn%C3%AF%3F%23%2F', { kind: 'browse', location: at({ segments: ['a b', 'ünï?#/'] }) }],
    ['#/OsFs/docs//x/', { kind: 'browse', location: at({ segments: ['docs', 'x'] }) }],
    ['#/OsFs/docs/../../etc/./x', { kind: 'browse', location: at({ segments: ['docs', 'etc', 'x'] }) }],
    ['#/OsFs/%E0%A4%A', { kind: 'browse', location: at({ segments: ['%E0%A4%A'] }) }],
    ['#/OsFs/docs?sort=size&order=desc&type=image&q=re%20port', { kind: 'browse', location: at({ segments: ['docs'], sort: 'size', order: 'desc', type: 'image', q: 're port' }) }],
    ['#/OsFs?sort=bogus&order=up&type=movies', { kind: 'browse', location: at({}) }],
  ];
  for (const [hash, expected] of cases) {
    it(`${JSON.stringify(hash)}`, () => {
      expect(parseFragment(hash)).to.deep.equal(expected);
    });
  }
});

describe('toFragment', () => {
  const places: BrowseLocation[] = [
    at({}),
    at({ segments: ['docs', '2026'] }),
    at({ segments: ['a b', 'ünï?#/&=', '%41'] }),
    at({ fstype: 'media files', segments: ['x'], sort: 'modified', order: 'desc', type: 'video', q: 'a&b=c?#' }),
  ];
  for (const place of places) {
    it(`round-trips ${JSON.stringify(place.segments)} ${place.sort} ${place.order} ${place.type} ${JSON.stringify(place.q)}`, () => {
      const fragment = toFragment(place);
      expect(fragment.startsWith('#/')).to.equal(true);
      expect(parseFragment(fragment)).to.deep.equal({ kind: 'browse', location: place });
    });
  }

  it('leaves the defaults out', () => {
    expect(toFragment(at({ segments: ['docs'] }))).to.equal('#/OsFs/docs');
    expect(toFragment(at({ segments: ['docs'], sort: 'size', order: 'desc' }))).to.equal('#/OsFs/docs?sort=size&order=desc');
    expect(toFragment(ROOT)).to.equal('#/');
  });
});

describe('toListUrl', () => {
  it('asks for the folder with its sort, filters, page size and cursor', () => {
    const place = { ...at({ segments: ['a b', 'c&d'], sort: 'size', order: 'desc', type: 'image', q: 'x y' }), fstype: 'OsFs' };
    const url = new URL(toListUrl(place, 100, 'CURSOR+/='), 'http://x');
    expect(url.pathname).to.equal('/api/list');
    expect(Object.fromEntries(url.searchParams)).to.deep.equal({ fstype: 'OsFs', path: 'a b/c&d', sort: 'size', order: 'desc', limit: '100', type: 'image', q: 'x y', cursor: 'CURSOR+/=' });
  });

  it('names the layer root "/" and leaves out what is not set', () => {
    expect(toListUrl({ ...at({}), fstype: 'OsFs' }, 100, null)).to.equal('/api/list?fstype=OsFs&path=%2F&sort=name&order=asc&limit=100');
  });
});

describe('moving between folders', () => {
  const place = at({ segments: ['docs', '2026'], sort: 'size', type: 'text', q: 'notes' });

  it('a child keeps the sort and type, and leaves the search behind', () => {
    expect(toChild(place, 'q1')).to.deep.equal({ ...place, segments: ['docs', '2026', 'q1'], q: '' });
  });

  it('the parent, and the root\'s parent is the root', () => {
    expect(toParent(place)).to.deep.equal({ ...place, segments: ['docs'], q: '' });
    expect(toParent(at({})).segments).to.deep.equal([]);
  });

  it('an ancestor by depth, as a breadcrumb leads', () => {
    expect([0, 1, 2].map((depth) => toAncestor(place, depth).segments)).to.deep.equal([[], ['docs'], ['docs', '2026']]);
  });
});
