// Tests for path confinement: dot segments, the hidden rule, containment on real paths and where a symlink really leads.

import { expect } from 'chai';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FilegateError } from '../../src/errors.js';
import { checkHidden, checkNoDotSegments, checkResolvedPath, toSegmentsWithin, type HiddenMode, type ResolvedPolicy } from '../../src/paths/confinement.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { expectFilegateError } from '../helpers/assertions.js';

describe('checkNoDotSegments', () => {
  const refused = ['..', '.', '../x', 'a/../b', 'a/./b', 'a/..', '/..', 'a/b/.'];
  for (const raw of refused) {
    it(`${JSON.stringify(raw)} → 403 PATH_NOT_ALLOWED`, () => {
      const error = expectFilegateError(() => checkNoDotSegments(parseLayerPath(raw)), 'PATH_NOT_ALLOWED', 403);
      expect(error.message).to.include(JSON.stringify(raw));
    });
  }
  const accepted = ['a/b', '...', '..a/b', 'a../b', '.hidden', '．．/x', '%2e%2e/x', '/'];
  for (const raw of accepted) {
    it(`${JSON.stringify(raw)} passes`, () => expect(() => checkNoDotSegments(parseLayerPath(raw))).to.not.throw());
  }
});

describe('checkHidden', () => {
  const hidden = [['.env'], ['a', '.git', 'config'], ['a', '.b.txt']];
  const visible = [[], ['a', 'b.txt'], ['a.', 'b'], ['．env']];
  const outcomes: Array<[HiddenMode, string | null, number | null]> = [
    ['ignore', 'NOT_FOUND', 404],
    ['deny', 'PATH_NOT_ALLOWED', 403],
    ['allow', null, null],
  ];
  for (const [mode, code, status] of outcomes) {
    for (const segments of hidden) {
      it(`hidden ${JSON.stringify(segments)} under "${mode}" → ${code ?? 'ok'}`, () => {
        const shown = segments.join('/');
        if (code === null) return expect(() => checkHidden(segments, mode, shown)).to.not.throw();
        const error = expectFilegateError(() => checkHidden(segments, mode, shown), code, status!);
        expect(error.message).to.include(JSON.stringify(shown));
      });
    }
    for (const segments of visible) {
      it(`visible ${JSON.stringify(segments)} under "${mode}" → ok`, () => {
        expect(() => checkHidden(segments, mode, segments.join('/'))).to.not.throw();
      });
    }
  }
});

describe('toSegmentsWithin', () => {
  const cases: Array<[string, string, string[] | null]> = [
    ['/srv/data', '/srv/data/a.txt', ['a.txt']],
    ['/srv/data', '/srv/data/a/b/c.mp4', ['a', 'b', 'c.mp4']],
    ['/srv/data', '/srv/data', []],
    ['/srv/data/', '/srv/data', []],
    ['/srv/data', '/srv/data/', []],
    ['/srv/data', '/srv/data/..foo', ['..foo']],
    ['/srv/data', '/srv/data/a/..b', ['a', '..b']],
    ['/srv/data', '/srv/data-secret', null],
    ['/srv/data', '/srv/data-secret/x.txt', null],
    ['/srv/data', '/srv/datafile', null],
    ['/srv/data', '/srv', null],
    ['/srv/data', '/', null],
    ['/srv/data', '/srv/data/../data-secret/x', null],
    ['/srv/data', '/srv/data/a/../../etc', null],
    ['/srv/data', '/etc/passwd', null],
    ['/srv/data', '/srv/other/data/x', null],
  ];
  for (const [root, real, expected] of cases) {
    it(`${real} within ${root} → ${JSON.stringify(expected)}`, () => expect(toSegmentsWithin(root, real)).to.deep.equal(expected));
  }
});

describe('checkResolvedPath (on a real tree with symlinks)', () => {
  let base: string;
  let root: string;
  const within: ResolvedPolicy = { hidden: 'ignore', symlinks: 'within-root' };

  before(() => {
    base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'filegate-confinement-')));
    root = path.join(base, 'data');
    const file = (relative: string) => {
      mkdirSync(path.dirname(path.join(base, relative)), { recursive: true });
      writeFileSync(path.join(base, relative), 'content\n');
    };
    file('data/docs/a.txt');
    file('data/.secret/key.txt');
    file('data/.env');
    file('data-secret/x.txt');
    file('outside.txt');
    symlinkSync('docs/a.txt', path.join(root, 'link-a.txt'));
    symlinkSync('docs', path.join(root, 'docs-link'));
    symlinkSync('.secret/key.txt', path.join(root, 'link-key.txt'));
    symlinkSync('.env', path.join(root, 'env-link'));
    symlinkSync('../data-secret/x.txt', path.join(root, 'sibling-link.txt'));
    symlinkSync('../data-secret', path.join(root, 'sibling-dir'));
    symlinkSync(path.join(base, 'outside.txt'), path.join(root, 'absolute-link.txt'));
    symlinkSync('..', path.join(root, 'up'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  /** Resolves `requested` on the real tree, as the layer does after opening it. */
  const resolve = (requested: string, policy: ResolvedPolicy) => {
    const target = parseLayerPath(requested);
    return checkResolvedPath(root, realpathSync(path.join(root, ...target.segments)), target, policy);
  };

  const inside: Array<[string, string[]]> = [
    ['docs/a.txt', ['docs', 'a.txt']],
    ['link-a.txt', ['docs', 'a.txt']],
    ['docs-link/a.txt', ['docs', 'a.txt']],
    ['/', []],
  ];
  for (const [requested, real] of inside) {
    it(`${requested} stays inside → ${JSON.stringify(real)}`, () => expect(resolve(requested, within)).to.deep.equal(real));
  }

  const outside = ['sibling-link.txt', 'sibling-dir/x.txt', 'absolute-link.txt', 'up/outside.txt', 'up/data-secret/x.txt'];
  for (const requested of outside) {
    it(`${requested} leads outside the root → 403 PATH_NOT_ALLOWED`, () => {
      const error = expectFilegateError(() => resolve(requested, within), 'PATH_NOT_ALLOWED', 403);
      expect(error.message).to.include(JSON.stringify(requested));
      expect(error.message, 'no absolute server path').to.not.include(base);
    });
  }

  it('a plain path with no symlink passes under symlinks "deny"', () => {
    expect(resolve('docs/a.txt', { hidden: 'ignore', symlinks: 'deny' })).to.deep.equal(['docs', 'a.txt']);
  });

  for (const requested of ['link-a.txt', 'docs-link/a.txt']) {
    it(`${requested} goes through a symlink inside the root: under symlinks "deny" → 403 PATH_NOT_ALLOWED`, () => {
      expectFilegateError(() => resolve(requested, { hidden: 'ignore', symlinks: 'deny' }), 'PATH_NOT_ALLOWED', 403);
    });
  }

  it('a symlink leaving the root is PATH_NOT_ALLOWED under symlinks "deny" too', () => {
    expectFilegateError(() => resolve('sibling-link.txt', { hidden: 'allow', symlinks: 'deny' }), 'PATH_NOT_ALLOWED', 403);
  });

  const hiddenTargets: Array<[HiddenMode, string | null, number | null]> = [
    ['ignore', 'NOT_FOUND', 404],
    ['deny', 'PATH_NOT_ALLOWED', 403],
    ['allow', null, null],
  ];
  for (const requested of ['link-key.txt', 'env-link']) {
    for (const [hidden, code, status] of hiddenTargets) {
      it(`${requested} leads to a hidden entry: under hidden "${hidden}" → ${code ?? 'served'}`, () => {
        const policy: ResolvedPolicy = { hidden, symlinks: 'within-root' };
        if (code === null) {
          expect(resolve(requested, policy)[0]).to.match(/^\./);
          return;
        }
        const error = expectFilegateError(() => resolve(requested, policy), code, status!);
        expect(error.message, 'names the requested path, not the hidden target').to.include(JSON.stringify(requested));
        expect(error.message).to.not.include('.secret').and.not.include('.env');
      });
    }
  }
});
