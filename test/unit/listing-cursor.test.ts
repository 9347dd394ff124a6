// Table tests for listing cursors: a round trip, every kind of tampering, a cursor moved to another listing, and the key shared by replicas.

import { expect } from 'chai';
import { decodeCursor, deriveCursorKeys, encodeCursor, type CursorScope } from '../../src/listing/listing-cursor.js';
import type { Position } from '../../src/listing/listing-order.js';
import { expectFilegateError } from '../helpers/assertions.js';

const key = deriveCursorKeys({ a: 'a-secret-that-is-long-enough-for-the-test-0123' }, 'a');
const scope: CursorScope = { fstype: 'OsFs', path: ['photos', '2024'], sort: 'name', order: 'asc', dirs: 'first', types: ['image', 'video'], q: null, prefix: null };
const last: Position = { directory: false, key: 1_700_000_000_123.25, name: 'ünï cødé ☃ "quoted".jpg' };

describe('encodeCursor and decodeCursor', () => {
  const cursor = encodeCursor(key, scope, last);

  it('round-trips the position', () => {
    expect(decodeCursor(key, scope, cursor)).to.deep.equal(last);
  });

  it('is URL-safe text: the key id, the base64url payload and a 43-character tag, dot-separated', () => {
    expect(cursor).to.match(/^a\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('accepts the types in any order', () => {
    expect(decodeCursor(key, { ...scope, types: ['video', 'image'] }, cursor)).to.deep.equal(last);
  });

  const replace = (index: number) => {
    const char = cursor[index] === 'A' ? 'B' : 'A';
    return `${cursor.slice(0, index)}${char}${cursor.slice(index + 1)}`;
  };
  const dot = cursor.lastIndexOf('.');
  const tampered: Array<[string, string]> = [
    ['the first character changed', replace(0)],
    ['a payload character changed', replace(dot - 2)],
    ['the tag\'s first character changed', replace(dot + 1)],
    ['the tag\'s last character changed (its low bits are not decoded)', replace(cursor.length - 1)],
    ['the tag removed', cursor.slice(0, dot)],
    ['the payload removed', `a${cursor.slice(dot)}`],
    ['the key id changed', `b${cursor.slice(1)}`],
    ['the key id removed', cursor.slice(2)],
    ['a character added', `${cursor}A`],
    ['garbage', 'garbage'],
    ['a second dot', `${cursor}.x`],
    ['another key\'s cursor under the same id', encodeCursor(deriveCursorKeys({ a: 'another-secret-that-is-long-enough-0123456' }, 'a'), scope, last)],
  ];
  for (const [label, value] of tampered) {
    it(`${label}: BAD_REQUEST`, () => {
      expect(expectFilegateError(() => decodeCursor(key, scope, value), 'BAD_REQUEST', 400).message).to.include('"cursor"');
    });
  }

  const others: Array<[string, Partial<CursorScope>]> = [
    ['another layer', { fstype: 'media' }],
    ['another folder', { path: ['photos'] }],
    ['a folder spelled with the segments joined differently', { path: ['photos/2024'] }],
    ['another sort', { sort: 'size' }],
    ['another order', { order: 'desc' }],
    ['dirs mixed', { dirs: 'mixed' }],
    ['other types', { types: ['image'] }],
    ['a query', { q: 'x' }],
    ['a prefix', { prefix: 'out_' }],
  ];
  for (const [label, change] of others) {
    it(`used for ${label}: BAD_REQUEST`, () => {
      expect(expectFilegateError(() => decodeCursor(key, { ...scope, ...change }, cursor), 'BAD_REQUEST', 400).message).to.include('another listing');
    });
  }
});

describe('deriveCursorKeys', () => {
  const secrets = { 'k-1': 'secret-one-that-is-long-enough-0123456789', 'k-2': 'secret-two-that-is-long-enough-0123456789' };

  it('derives the same keys from the same secrets, so replicas sharing a config accept each other\'s cursors', () => {
    const one = deriveCursorKeys(secrets, 'k-1');
    const two = deriveCursorKeys({ 'k-2': secrets['k-2'], 'k-1': secrets['k-1'] }, 'k-1');
    expect(decodeCursor(two, scope, encodeCursor(one, scope, last))).to.deep.equal(last);
  });

  it('during a rotation, a replica that has the new key already accepts the cursors of one that has not, and back', () => {
    const before = deriveCursorKeys({ 'k-1': secrets['k-1'] }, 'k-1');
    const added = deriveCursorKeys(secrets, 'k-1');
    const switched = deriveCursorKeys(secrets, 'k-2');
    expect(decodeCursor(added, scope, encodeCursor(before, scope, last))).to.deep.equal(last);
    expect(decodeCursor(before, scope, encodeCursor(added, scope, last))).to.deep.equal(last);
    // Once k-2 signs, an old cursor still holds while k-1 is kept.
    expect(decodeCursor(switched, scope, encodeCursor(before, scope, last))).to.deep.equal(last);
    const removed = deriveCursorKeys({ 'k-2': secrets['k-2'] }, 'k-2');
    expectFilegateError(() => decodeCursor(removed, scope, encodeCursor(before, scope, last)), 'BAD_REQUEST', 400);
  });

  it('derives another key when a secret differs, and none is the secret itself', () => {
    const one = deriveCursorKeys({ a: 's1' }, 'a');
    const two = deriveCursorKeys({ a: 's2' }, 'a');
    expect(one.byId.get('a')!.equals(two.byId.get('a')!)).to.equal(false);
    expect(one.byId.get('a')!.toString('utf8')).to.not.include('s1');
  });

  it('is random per process with no secret at all', () => {
    const one = deriveCursorKeys({}, null);
    expect(one.byId.get(one.current)).to.have.length(32);
    expect(one.byId.get(one.current)!.equals(deriveCursorKeys({}, null).byId.get(one.current)!)).to.equal(false);
  });
});
