// Table tests for authorization: path prefixes compared by segment, and FORBIDDEN naming the missing scope, layer or path.

import { expect } from 'chai';
import { authorize, checkLayerAllowed, checkPathAllowed, checkScope, isPathWithin, isScope, type Principal } from '../../src/auth/principal.js';
import type { Scope } from '../../src/config/schema.js';
import { FilegateError } from '../../src/errors.js';
import { expectFilegateError } from '../helpers/assertions.js';

const seg = (text: string) => (text === '' ? [] : text.split('/'));

const principal = (overrides: Partial<Principal> = {}): Principal => ({
  subject: 'tester',
  scopes: new Set<Scope>(['files:read', 'files:list']),
  paths: null,
  fstypes: null,
  ...overrides,
});

describe('isScope', () => {
  const cases: Array<[string, boolean]> = [
    ['files:read', true],
    ['files:list', true],
    ['files:archive', true],
    ['files:sign', true],
    ['files:write', false],
    ['FILES:READ', false],
    ['files:read ', false],
    ['', false],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => expect(isScope(value)).to.equal(expected));
  }
});

describe('isPathWithin', () => {
  const cases: Array<[string, string, boolean]> = [
    ['users/42', 'users/42', true],
    ['users/42', 'users/42/a', true],
    ['users/42', 'users/42/a/b.mp4', true],
    ['users/42', 'users/420', false],
    ['users/42', 'users/420/a', false],
    ['users/42', 'users/4', false],
    ['users/42', 'users', false],
    ['users/42', '', false],
    ['users/42', 'Users/42/a', false],
    ['users/42', 'other/users/42', false],
    ['users/42', 'users/42x/a', false],
    ['', '', true],
    ['', 'anything', true],
    ['', 'a/b/c', true],
  ];
  for (const [prefix, path, expected] of cases) {
    it(`prefix ${JSON.stringify(prefix)} covers ${JSON.stringify(path)}: ${expected}`, () => {
      expect(isPathWithin(seg(prefix), seg(path))).to.equal(expected);
    });
  }
});

describe('checkScope', () => {
  it('passes when the scope is held', () => expect(() => checkScope(principal(), 'files:read')).to.not.throw());
  for (const scope of ['files:archive', 'files:sign'] as const) {
    it(`lacking ${scope} → 403 FORBIDDEN naming it`, () => {
      const error = expectFilegateError(() => checkScope(principal(), scope), 'FORBIDDEN', 403);
      expect(error.message).to.include(scope);
    });
  }
  it('a principal with no scopes at all → FORBIDDEN', () => {
    expectFilegateError(() => checkScope(principal({ scopes: new Set() }), 'files:read'), 'FORBIDDEN', 403);
  });
});

describe('checkLayerAllowed', () => {
  const cases: Array<[readonly string[] | null, string, boolean]> = [
    [null, 'OsFs', true],
    [['media'], 'media', true],
    [['OsFs', 'media'], 'media', true],
    [['media'], 'OsFs', false],
    [['media'], 'Media', false],
    [['media'], 'media2', false],
    [[], 'OsFs', false],
  ];
  for (const [fstypes, layer, allowed] of cases) {
    it(`fstypes ${JSON.stringify(fstypes)}, layer ${layer} → ${allowed ? 'ok' : 'FORBIDDEN'}`, () => {
      const action = () => checkLayerAllowed(principal({ fstypes }), layer);
      if (allowed) return expect(action).to.not.throw();
      const error = expectFilegateError(action, 'FORBIDDEN', 403);
      expect(error.message).to.include(`"${layer}"`);
    });
  }
});

describe('checkPathAllowed', () => {
  const cases: Array<[readonly string[] | null, string, boolean]> = [
    [null, 'a/b.txt', true],
    [['users/42'], 'users/42/a.txt', true],
    [['users/42', 'shared'], 'shared/x.pdf', true],
    [[''], 'anything/at/all', true],
    [['users/42'], 'users/420/a.txt', false],
    [['users/42'], 'users', false],
    [['users/42'], 'users/4/a.txt', false],
    [['users/42', 'shared'], 'private/x.pdf', false],
    [[], 'a.txt', false],
  ];
  for (const [prefixes, path, allowed] of cases) {
    it(`paths ${JSON.stringify(prefixes)}, ${path} → ${allowed ? 'ok' : 'FORBIDDEN'}`, () => {
      const action = () => checkPathAllowed(principal({ paths: prefixes && prefixes.map(seg) }), seg(path), path);
      if (allowed) return expect(action).to.not.throw();
      const error = expectFilegateError(action, 'FORBIDDEN', 403);
      expect(error.message).to.include(`"${path}"`);
    });
  }
});

describe('authorize', () => {
  const request = { scope: 'files:read' as Scope, layer: 'media', segments: seg('users/7/a.mp4'), shown: 'users/7/a.mp4' };

  it('passes when scope, layer and path are all granted', () => {
    const granted = principal({ fstypes: ['media'], paths: [seg('users/7')] });
    expect(() => authorize(granted, request)).to.not.throw();
  });

  const cases: Array<[string, Partial<Principal>, string]> = [
    ['the scope', { scopes: new Set<Scope>(['files:list']) }, 'files:read'],
    ['the layer', { fstypes: ['OsFs'] }, '"media"'],
    ['the path', { paths: [seg('users/70')] }, '"users/7/a.mp4"'],
    ['everything: the scope is named first', { scopes: new Set<Scope>(), fstypes: ['OsFs'], paths: [seg('x')] }, 'files:read'],
    ['layer and path: the layer is named first', { fstypes: ['OsFs'], paths: [seg('x')] }, '"media"'],
  ];
  for (const [missing, overrides, named] of cases) {
    it(`lacking ${missing} → 403 FORBIDDEN naming ${named}`, () => {
      const error = expectFilegateError(() => authorize(principal(overrides), request), 'FORBIDDEN', 403);
      expect(error.message).to.include(named);
    });
  }
});
