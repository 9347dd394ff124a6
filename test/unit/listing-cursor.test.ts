// Table tests for listing cursors: a round trip, every kind of tampering, a cursor moved to another listing, and the key shared by replicas.

import { expect } from 'chai';
import { decodeCursor, deriveCursorKey, encodeCursor, type CursorScope } from '../../src/listing/listing-cursor.js';
import type { Position } from '../../src/listing/listing-order.js';
import { expectFilegateError } from '../helpers/assertions.js';

const key = deriveCursorKey(['a-secret-that-is-long-enough-for-the-test-0123']);
const scope: CursorScope = { fstype: 'OsFs', path: ['photos', '2024'], sort: 'name', order: 'asc', dirs: 'first', types: ['image', 'video'], q: null, prefix: null };
const last: Position = { directory: false, key: 1_700_000_000_123.25, name: 'ünï cødé ☃ "quoted".jpg' };

describe('encodeCursor and decodeCursor', () => {
  const cursor = encodeCursor(key, scope, last);

  it('round-trips the position', () => {
    expect(decodeCursor(key, scope, cursor)).to.deep.equal(last);
  });

  it('is URL-safe text: base64url, a dot, and a 43-character tag', () => {
    expect(cursor).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('accepts the types in any order', () => {
    expect(decodeCursor(key, { ...scope, types: ['video', 'image'] }, cursor)).to.deep.equal(last);
  });

  const replace = (index: number) => {
    const char = cursor[index] === 'A' ? 'B' : 'A';
    return `${cursor.slice(0, index)}${char}${cursor.slice(index + 1)}`;
  };
  const dot = cursor.indexOf('.');
  const tampered: Array<[string, string]> = [
    ['the first character changed', replace(0)],
    ['a payload character changed', replace(dot - 2)],
    ['the tag\'s first character changed', replace(dot + 1)],
    ['the tag\'s last character changed (its low bits are not decoded)', replace(cursor.length - 1)],
    ['the tag removed', cursor.slice(0, dot)],
    ['the payload removed', cursor.slice(dot)],
    ['a character added', `${cursor}A`],
    ['garbage', 'garbage'],
    ['a second dot', `${cursor}.x`],
    ['another key\'s cursor', encodeCursor(deriveCursorKey(['another-secret-that-is-long-enough-0123456']), scope, last)],
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

describe('deriveCursorKey', () => {
  it('is the same for the same secrets, so replicas sharing a config accept each other\'s cursors', () => {
    expect(deriveCursorKey(['s1', 's2']).equals(deriveCursorKey(['s1', 's2']))).to.equal(true);
  });

  it('differs when a secret differs, and is not a secret itself', () => {
    expect(deriveCursorKey(['s1', 's2']).equals(deriveCursorKey(['s1', 's3']))).to.equal(false);
    expect(deriveCursorKey(['s1']).toString('utf8')).to.not.include('s1');
  });

  it('is random per process with no secret at all', () => {
    const one = deriveCursorKey([]);
    expect(one).to.have.length(32);
    expect(one.equals(deriveCursorKey([]))).to.equal(false);
  });
});
