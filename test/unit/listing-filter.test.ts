// Table tests for what a listing shows: name and type filters, addressable names, and the token's paths on the way to and within its prefixes.

import { expect } from 'chai';
import type { Principal } from '../../src/auth/principal.js';
import type { FileCategory, Scope } from '../../src/config/schema.js';
import { checkFolderAllowed, checkRealFolderAllowed, isAddressableChild, isVisibleTo, matchesName, matchesType, toNameFilters } from '../../src/listing/listing-filter.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { expectFilegateError } from '../helpers/assertions.js';

const seg = (text: string) => (text === '' ? [] : text.split('/'));
const principal = (paths: string[] | null): Principal => ({
  subject: 'tester',
  scopes: new Set<Scope>(['files:list']),
  paths: paths === null ? null : paths.map(seg),
  fstypes: null,
});

describe('toNameFilters', () => {
  it('lower-cases q, and treats an empty q, prefix or set of types as no filter', () => {
    expect(toNameFilters(new Set<FileCategory>(['video']), 'ReP', 'out_')).to.deep.equal({ types: new Set(['video']), q: 'rep', prefix: 'out_' });
    expect(toNameFilters(new Set(), '', '')).to.deep.equal({ types: null, q: null, prefix: null });
    expect(toNameFilters(null, undefined, undefined)).to.deep.equal({ types: null, q: null, prefix: null });
  });
});

describe('matchesName', () => {
  const cases: Array<[string, string | undefined, string | undefined, boolean]> = [
    ['Report-Final.PDF', 'report', undefined, true],
    ['Report-Final.PDF', 'FINAL.pdf', undefined, true],
    ['Report-Final.PDF', 'draft', undefined, false],
    ['ünï cødé ☃.txt', 'CØDÉ', undefined, true],
    ['out_1.png', undefined, 'out_', true],
    ['log.txt', undefined, 'out_', false],
    ['Out_1.png', undefined, 'out_', false],
    ['out_1.png', '1.PNG', 'out_', true],
    ['out_1.png', 'log', 'out_', false],
    ['anything', undefined, undefined, true],
  ];
  for (const [name, q, prefix, expected] of cases) {
    it(`${JSON.stringify(name)} with q ${JSON.stringify(q)} and prefix ${JSON.stringify(prefix)} → ${expected}`, () => {
      expect(matchesName(name, toNameFilters(null, q, prefix))).to.equal(expected);
    });
  }
});

describe('matchesType', () => {
  const cases: Array<[string, FileCategory[] | null, boolean]> = [
    ['a.mp4', ['video'], true],
    ['a.mp4', ['audio'], false],
    ['a.mp4', ['audio', 'video'], true],
    ['A.MP4', ['video'], true],
    ['data.json', ['data'], true],
    ['data.json', ['text'], false],
    ['blob.bin', ['data', 'text', 'video', 'audio', 'image', 'document', 'archive'], false],
    ['blob.bin', null, true],
  ];
  for (const [name, types, expected] of cases) {
    it(`${name} with types ${JSON.stringify(types)} → ${expected}`, () => {
      expect(matchesType(name, toNameFilters(types === null ? null : new Set(types), undefined, undefined))).to.equal(expected);
    });
  }
});

describe('isAddressableChild', () => {
  const deep = parseLayerPath(Array.from({ length: 63 }, () => 'd').join('/'), 'path');
  const deepest = parseLayerPath(Array.from({ length: 64 }, () => 'd').join('/'), 'path');
  const long = parseLayerPath(Array.from({ length: 16 }, () => 'x'.repeat(250)).join('/'), 'path');
  const cases: Array<[string, ReturnType<typeof parseLayerPath>, string, boolean]> = [
    ['a plain name', parseLayerPath('docs', 'path'), 'report.pdf', true],
    ['unicode and spaces', parseLayerPath('/', 'path'), 'ünï cødé ☃.txt', true],
    ['a dot-file (the layer decides on hidden names)', parseLayerPath('docs', 'path'), '.profile', true],
    ['a newline', parseLayerPath('docs', 'path'), 'line\nbreak', false],
    ['a backslash', parseLayerPath('docs', 'path'), 'back\\slash', false],
    ['an escape', parseLayerPath('docs', 'path'), 'esc\u001b[31m', false],
    ['a C1 control', parseLayerPath('docs', 'path'), 'nel\u0085', false],
    ['255 bytes', parseLayerPath('docs', 'path'), 'é'.repeat(127) + 'x', true],
    ['256 bytes', parseLayerPath('docs', 'path'), 'é'.repeat(128), false],
    ['the 64th level', deep, 'x', true],
    ['a 65th level', deepest, 'x', false],
    ['a path of 4096 bytes', long, 'x'.repeat(4096 - 16 * 251), true],
    ['a path over 4096 bytes', long, 'x'.repeat(4097 - 16 * 251), false],
  ];
  for (const [label, folder, name, expected] of cases) {
    it(`${label} → ${expected}`, () => expect(isAddressableChild(folder, name)).to.equal(expected));
  }

  it('agrees with parseLayerPath on every case', () => {
    for (const [, folder, name] of cases) {
      const text = [...folder.segments, name].join('/');
      let parsed = true;
      try {
        parseLayerPath(text, 'path');
      } catch {
        parsed = false;
      }
      expect(isAddressableChild(folder, name), JSON.stringify(name)).to.equal(parsed);
    }
  });
});

describe('checkFolderAllowed', () => {
  const cases: Array<[string[] | null, string, boolean]> = [
    [null, 'anything/at/all', true],
    [['users/42'], '/', true],
    [['users/42'], 'users', true],
    [['users/42'], 'users/42', true],
    [['users/42'], 'users/42/photos', true],
    [['users/42'], 'users/420', false],
    [['users/42'], 'users/43', false],
    [['users/42'], 'other', false],
    [['users/42', 'shared'], 'shared/x', true],
  ];
  for (const [paths, folder, allowed] of cases) {
    it(`paths ${JSON.stringify(paths)} listing ${JSON.stringify(folder)} → ${allowed ? 'allowed' : 'FORBIDDEN'}`, () => {
      const target = parseLayerPath(folder, 'path');
      if (allowed) checkFolderAllowed(principal(paths), target);
      else expect(expectFilegateError(() => checkFolderAllowed(principal(paths), target), 'FORBIDDEN', 403).message).to.include(folder);
    });
  }
});

describe('checkRealFolderAllowed', () => {
  const cases: Array<[string, string, string, boolean]> = [
    ['within, really within', 'users/42/link', 'users/42/photos', true],
    ['within, really elsewhere', 'users/42/link', 'users/420', false],
    ['within, really on the way only', 'users/42/up', 'users', false],
    ['on the way, really on the way', 'alias', 'users', true],
    ['on the way, really within', 'users', 'users/42', true],
    ['on the way, really elsewhere', 'users', 'other', false],
  ];
  for (const [label, requested, real, allowed] of cases) {
    it(`${label} → ${allowed ? 'allowed' : 'FORBIDDEN'}`, () => {
      const check = () => checkRealFolderAllowed(principal(['users/42', 'alias/x']), parseLayerPath(requested, 'path'), seg(real));
      if (allowed) check();
      else expectFilegateError(check, 'FORBIDDEN', 403);
    });
  }
});

describe('isVisibleTo', () => {
  const paths = [seg('users/42')];
  const cases: Array<[string, boolean, string, string, boolean]> = [
    ['a folder on the way', true, 'users', 'users', true],
    ['the prefix itself', true, 'users/42', 'users/42', true],
    ['a sibling sharing a string prefix', true, 'users/420', 'users/420', false],
    ['a file on the way is not enough', false, 'users', 'users', false],
    ['a file within', false, 'users/42/a.txt', 'users/42/a.txt', true],
    ['a file within that really lies elsewhere', false, 'users/42/peek.txt', 'users/420/other.txt', false],
    ['a folder within that really lies elsewhere', true, 'users/42/peek', 'users/420', false],
    ['a folder elsewhere that really lies within', true, 'other/link', 'users/42', false],
  ];
  for (const [label, directory, requested, real, expected] of cases) {
    it(`${label} → ${expected}`, () => expect(isVisibleTo(paths, directory, seg(requested), seg(real))).to.equal(expected));
  }

  it('everything is visible to a token without paths', () => {
    expect(isVisibleTo(null, false, seg('a/b'), seg('c/d'))).to.equal(true);
  });
});
