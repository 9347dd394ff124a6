// Route aliases at start-up: every kind of bad alias stops the config with a message under its key; good ones compile.

import { expect } from 'chai';
import { compileRouteAliases } from '../../src/aliases/alias-rules.js';
import { checkParamValue, fillTemplate, parseTemplate, type Template } from '../../src/aliases/template.js';
import { configSchema } from '../../src/config/schema.js';
import { expectFilegateError } from '../helpers/assertions.js';

const LAYERS = { OsFs: { root: '/srv/data' }, media: { root: '/srv/media' } };

/** The config problems of `routes`, as "key: message" lines. */
function problemsOf(routes: unknown[]): string[] {
  const result = configSchema.safeParse({ layers: LAYERS, routes });
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('route aliases: start-up checks', () => {
  const good = { path: '/download/image/:id/:type', filepath: 'results/{id}/{type}.png', params: { type: ['input', 'mask'] }, filename: '{id}_{type}.png' };

  it('a good alias passes and compiles with its action, method and scope', () => {
    expect(problemsOf([good])).to.deep.equal([]);
    const { aliases } = compileRouteAliases([configSchema.parse({ layers: LAYERS, routes: [good] }).routes[0]!], ['OsFs']);
    expect(aliases.map((a) => [a.action, a.method, a.scope, a.params])).to.deep.equal([['filepath', 'GET', 'files:read', ['id', 'type']]]);
  });

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown parameter in the template', { path: '/d/:id', filepath: 'r/{name}.png' }, /^routes\.0\.filepath: .*\{name\}, which is not a parameter/],
    ['an unknown parameter in the filename', { path: '/d/:id', filepath: 'r/{id}.png', filename: '{job}.png' }, /^routes\.0\.filename: .*\{job\}/],
    ['a ".." segment in the template', { path: '/d/:id', filepath: '../secrets/{id}' }, /^routes\.0\.filepath: .*"\." or "\.\." segment/],
    ['a "." segment in the template', { path: '/d/:id', filepath: 'a/./{id}' }, /^routes\.0\.filepath: .*"\." or "\.\." segment/],
    ['an absolute template', { path: '/d/:id', filepath: '/etc/{id}' }, /^routes\.0\.filepath: .*relative to the layer root/],
    ['a backslash in the template', { path: '/d/:id', filepath: 'a\\{id}' }, /^routes\.0\.filepath: .*backslash/],
    ['an empty segment in the template', { path: '/d/:id', filepath: 'a//{id}' }, /^routes\.0\.filepath: .*empty segment/],
    ['a stray brace', { path: '/d/:id', filepath: 'a/{id' }, /^routes\.0\.filepath: .*brace/],
    ['a "/" in the filename', { path: '/d/:id', filepath: 'a/{id}', filename: 'x/{id}' }, /^routes\.0\.filename: .*plain name/],
    ['a clash with /api/', { path: '/api/download', filepath: 'a' }, /^routes\.0\.path: .*clashes with a built-in route/],
    ['a clash with /healthz', { path: '/healthz', filepath: 'a' }, /^routes\.0\.path: .*clashes/],
    ['a clash with /metrics', { path: '/metrics', filepath: 'a' }, /^routes\.0\.path: .*clashes/],
    ['a clash with the browse page at /', { path: '/', filepath: 'a' }, /^routes\.0\.path: .*clashes/],
    ['a clash with /favicon.ico', { path: '/favicon.ico', filepath: 'a' }, /^routes\.0\.path: .*clashes/],
    ['a clash with the page\'s /assets/', { path: '/assets/:name', filepath: '{name}' }, /^routes\.0\.path: .*clashes/],
    ['a path without a leading "/"', { path: 'download/:id', filepath: 'a/{id}' }, /^routes\.0\.path: /],
    ['a parameter that is not a whole segment', { path: '/d/file-:id', filepath: 'a/{id}' }, /^routes\.0\.path: .*neither a literal .* nor a whole ":param"/],
    ['a parameter named twice', { path: '/d/:id/:id', filepath: 'a/{id}' }, /^routes\.0\.path: .*:id twice/],
    ['no action', { path: '/d/:id' }, /^routes\.0: give one action/],
    ['two actions', { path: '/d/:id', filepath: 'a/{id}', archive: 'a' }, /^routes\.0: give one action, not filepath and archive/],
    ['a rule for a parameter the path lacks', { path: '/d/:id', filepath: 'a/{id}', params: { type: ['x'] } }, /^routes\.0\.params\.type: .*has no parameter :type/],
    ['a pattern that is not a regular expression', { path: '/d/:id', filepath: 'a/{id}', params: { id: { pattern: '([a-z' } } }, /^routes\.0\.params\.id\.pattern: not a regular expression/],
    ['an unknown fstype', { path: '/d/:id', fstype: 'nope', filepath: 'a/{id}' }, /^routes\.0\.fstype: "nope" is not one of the configured layers/],
    ['an option of another action', { path: '/d/:id', filepath: 'a/{id}', prefix: '{id}' }, /^routes\.0\.prefix: "prefix" does not apply to a filepath alias/],
    ['GET for a package', { path: '/p/:id', method: 'GET', package: { inputs: 'a/{item}' } }, /^routes\.0\.method: .*POST or PUT/],
    ['PUT for a download', { path: '/d/:id', method: 'PUT', filepath: 'a/{id}' }, /^routes\.0\.method: .*answers GET/],
    ['a package list without {item}', { path: '/p/:id', package: { inputs: 'a/{id}' } }, /^routes\.0\.package\.inputs: .*\{item\}/],
    ['a package with no list', { path: '/p/:id', package: {} }, /^routes\.0\.package: name at least one list/],
    ['types and extensions both', { path: '/d/:id', filepath: 'a/{id}', types: ['video'], extensions: ['.mp4'] }, /^routes\.0\.types: give either/],
    ['an unknown key', { path: '/d/:id', filepath: 'a/{id}', colour: 'red' }, /^routes\.0: .*colour/],
  ];
  for (const [name, alias, expected] of cases) {
    it(`refuses ${name}`, () => {
      const problems = problemsOf([alias]);
      expect(problems.some((line) => expected.test(line)), problems.join('\n')).to.equal(true);
    });
  }

  it('refuses two aliases on the same method and path shape, naming the first', () => {
    const problems = problemsOf([good, { ...good, path: '/download/image/:a/:b', filepath: 'x/{a}/{b}', params: {}, filename: undefined }]);
    expect(problems.join('\n')).to.match(/^routes\.1\.path: .*already served by route 0/m);
  });

  it('reports the problems of every alias at once', () => {
    const problems = problemsOf([{ path: '/a/:x', filepath: '{y}' }, { path: '/b', archive: '../z' }]);
    expect(problems.filter((line) => line.startsWith('routes.0.'))).to.have.length.above(0);
    expect(problems.filter((line) => line.startsWith('routes.1.'))).to.have.length.above(0);
  });
});

describe('route aliases: parameter values', () => {
  const cases: Array<[string, string, { enum?: string[]; pattern?: RegExp } | undefined, boolean]> = [
    ['a plain value', 'img001', undefined, true],
    ['an enum value', 'mask', { enum: ['input', 'mask'] }, true],
    ['a value outside the enum', 'thumbnail', { enum: ['input', 'mask'] }, false],
    ['a pattern match', 'abc-1', { pattern: /^(?:[a-z0-9-]+)$/u }, true],
    ['a pattern mismatch', 'ABC', { pattern: /^(?:[a-z0-9-]+)$/u }, false],
    ['".."', '..', undefined, false],
    ['"."', '.', undefined, false],
    ['empty', '', undefined, false],
    ['a slash', 'a/b', undefined, false],
    ['a backslash', 'a\\b', undefined, false],
    ['a control character', 'a\nb', undefined, false],
    ['over 255 bytes', 'x'.repeat(256), undefined, false],
  ];
  for (const [name, value, rule, ok] of cases) {
    it(`${name}: ${ok ? 'accepted' : '400 BAD_REQUEST'}`, () => {
      if (ok) expect(() => checkParamValue('p', value, rule)).not.to.throw();
      else expectFilegateError(() => checkParamValue('p', value, rule), 'BAD_REQUEST', 400);
    });
  }

  it('fills a template with the values', () => {
    const template = parseTemplate('results/{id}/{type}.png') as Template;
    expect(fillTemplate(template, { id: 'img1', type: 'mask' })).to.equal('results/img1/mask.png');
  });
});
