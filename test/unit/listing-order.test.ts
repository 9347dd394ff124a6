// Table tests for a listing's order and its page selection: folders first, keys, directions, and the bounded heap against a plain sort.

import { expect } from 'chai';
import { comparePositions, PageSelector, sortKeyOf, type ListingOrder, type Position } from '../../src/listing/listing-order.js';

const dir = (name: string, key = 0): Position => ({ directory: true, key, name });
const file = (name: string, key = 0): Position => ({ directory: false, key, name });
const order = (sort: ListingOrder['sort'], direction: ListingOrder['order'] = 'asc', dirs: ListingOrder['dirs'] = 'first'): ListingOrder => ({ sort, order: direction, dirs });

describe('sortKeyOf', () => {
  const cases: Array<[ListingOrder['sort'], boolean, number]> = [
    ['name', false, 0],
    ['name', true, 0],
    ['size', false, 42],
    ['size', true, -1],
    ['modified', false, 1234.5],
    ['modified', true, 1234.5],
  ];
  for (const [sort, directory, expected] of cases) {
    it(`${sort} of a ${directory ? 'folder' : 'file'} → ${expected}`, () => {
      expect(sortKeyOf(sort, { directory, size: 42, mtimeMs: 1234.5 })).to.equal(expected);
    });
  }

  it('a folder sorts by size before an empty file', () => {
    expect(comparePositions(dir('z', sortKeyOf('size', { directory: true, size: 4096, mtimeMs: 0 })), file('a', 0), order('size', 'asc', 'mixed'))).to.be.lessThan(0);
  });
});

describe('comparePositions', () => {
  const cases: Array<[string, Position, Position, ListingOrder, -1 | 1]> = [
    ['folders first', dir('z'), file('a'), order('name'), -1],
    ['folders first, also descending', dir('a'), file('z'), order('name', 'desc'), -1],
    ['mixed: by name alone', file('a'), dir('b'), order('name', 'asc', 'mixed'), -1],
    ['mixed, descending', file('a'), dir('b'), order('name', 'desc', 'mixed'), 1],
    ['natural names', file('file2'), file('file10'), order('name'), -1],
    ['natural names, descending', file('file2'), file('file10'), order('name', 'desc'), 1],
    ['by key before name', file('a', 10), file('b', 5), order('size'), 1],
    ['by key, descending', file('a', 10), file('b', 5), order('size', 'desc'), -1],
    ['equal keys: by name', file('a', 5), file('b', 5), order('size'), -1],
    ['equal keys, descending: by name reversed', file('a', 5), file('b', 5), order('size', 'desc'), 1],
    ['fractional times', file('a', 1000.25), file('b', 1000.5), order('modified'), -1],
  ];
  for (const [label, a, b, listing, expected] of cases) {
    it(label, () => {
      expect(Math.sign(comparePositions(a, b, listing))).to.equal(expected);
      expect(Math.sign(comparePositions(b, a, listing))).to.equal(-expected);
    });
  }
});

describe('comparePositions on one name', () => {
  it('mixed: a name is one place whatever its kind, so an entry shown as a file is not shown again once it became a folder', () => {
    expect(comparePositions(dir('x'), file('x'), order('name', 'asc', 'mixed'))).to.equal(0);
  });
});

describe('PageSelector', () => {
  // A deterministic shuffle, so a failure can be replayed.
  const shuffled = <T>(items: T[], seed: number): T[] => {
    const out = [...items];
    let state = seed;
    for (let i = out.length - 1; i > 0; i -= 1) {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = state % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const entries: Position[] = [
    ...Array.from({ length: 40 }, (_, i) => file(`f${i}`, (i * 7) % 13)),
    ...Array.from({ length: 15 }, (_, i) => dir(`d${i}`, (i * 5) % 11)),
  ];

  const orders = [order('name'), order('name', 'desc'), order('size', 'asc', 'mixed'), order('modified', 'desc', 'mixed'), order('size', 'desc')];
  for (const listing of orders) {
    for (const limit of [1, 7, 55, 100]) {
      it(`${listing.sort} ${listing.order} ${listing.dirs}, limit ${limit}: pages walk the sorted entries exactly once`, () => {
        const sorted = [...entries].sort((a, b) => comparePositions(a, b, listing));
        const walked: Position[] = [];
        let after: Position | null = null;
        for (let page = 0; page < 100; page += 1) {
          const selector: PageSelector<Position> = new PageSelector<Position>(listing, limit, after);
          for (const entry of shuffled(entries, page + limit)) selector.offer(entry);
          const chosen = selector.page();
          expect(chosen.length).to.be.at.most(limit);
          walked.push(...chosen);
          if (!selector.hasMore()) break;
          after = chosen.at(-1)!;
        }
        expect(walked).to.deep.equal(sorted);
      });
    }
  }

  it('without a position, keeps the first `limit` entries', () => {
    const selector = new PageSelector<Position>(order('name'), 3, null);
    for (const name of ['c', 'file10', 'a', 'file2', 'b']) selector.offer(file(name));
    expect(selector.page().map((entry) => entry.name)).to.deep.equal(['a', 'b', 'c']);
    expect(selector.hasMore()).to.equal(true);
  });

  it('after a position, leaves out the position itself and what comes before it', () => {
    const selector = new PageSelector<Position>(order('name'), 10, file('b'));
    for (const name of ['a', 'b', 'c', 'd']) selector.offer(file(name));
    expect(selector.page().map((entry) => entry.name)).to.deep.equal(['c', 'd']);
    expect(selector.hasMore()).to.equal(false);
  });

  it('a position no entry holds any more (removed) still divides the entries', () => {
    const selector = new PageSelector<Position>(order('name'), 10, file('file5'));
    for (const name of ['file2', 'file4', 'file6', 'file10']) selector.offer(file(name));
    expect(selector.page().map((entry) => entry.name)).to.deep.equal(['file6', 'file10']);
  });

  it('has no more when the page holds exactly what is left', () => {
    const selector = new PageSelector<Position>(order('name'), 2, null);
    selector.offer(file('a'));
    selector.offer(file('b'));
    expect(selector.hasMore()).to.equal(false);
    selector.offer(file('c'));
    expect(selector.hasMore()).to.equal(true);
  });
});
