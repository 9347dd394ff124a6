// Table tests for the development banner's text (secret made or reused, a command or the reason there is none), its download URL's encoding, and the local origin filegate prints.

import { expect } from 'chai';
import { formatDevelopmentBanner, toDownloadUrl, type BannerFacts } from '../../src/dev/development-banner.js';
import { toLocalOrigin } from '../../src/dev/local-origin.js';
import { parseQuery } from '../../src/http/query.js';

const MB = 1024 ** 2;
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXZlbG9wZXIifQ.c2ln';
const base: BannerFacts = {
  secretFile: 'var/dev-jwt-secret',
  secretMade: true,
  token: TOKEN,
  tokenHours: 24,
  origin: 'http://localhost:8080',
  layer: { name: 'OsFs', root: 'data', policy: { owner: 'layer "OsFs"', maxFileSize: 50 * MB, allowEmpty: false } },
  sample: { filepath: 'hello.txt' },
  walk: { maxEntries: 500, maxDepth: 4 },
};
const media = { name: 'OsFs', root: 'var/examples/media-library', policy: { owner: 'layer "OsFs"', maxFileSize: 20 * 1024 * MB, allowEmpty: false, types: ['video', 'audio'] as const } };

describe('toDownloadUrl', () => {
  // [filepath, the query value printed]: everything but unreserved characters and "/" is encoded.
  const cases: Array<[string, string]> = [
    ['hello.txt', 'hello.txt'],
    ['docs/2026/notes.md', 'docs/2026/notes.md'],
    ['a b.txt', 'a%20b.txt'],
    ['a+b.txt', 'a%2Bb.txt'],
    ["it's.txt", 'it%27s.txt'],
    ['x&fstype=other.txt', 'x%26fstype%3Dother.txt'],
    ['50%.txt', '50%25.txt'],
    ['#1 (final)!*.txt', '%231%20%28final%29%21%2A.txt'],
    ['résumé 日本.txt', 'r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.txt'],
    ['a"b$c`d\\e.txt', 'a%22b%24c%60d%5Ce.txt'],
  ];
  for (const [filepath, printed] of cases) {
    it(`${JSON.stringify(filepath)} → filepath=${printed}, which the query parser reads back`, () => {
      const url = toDownloadUrl('http://localhost:8080', filepath);
      expect(url).to.equal(`http://localhost:8080/api/download?filepath=${printed}`);
      // Inside the shell's single quotes nothing but "'" would matter, and it is never left bare.
      expect(url).to.not.include("'");
      expect(parseQuery(new URL(url).search.slice(1)).get('filepath')).to.deep.equal([filepath]);
    });
  }
});

describe('formatDevelopmentBanner', () => {
  const lineWith = (text: string, part: string) => text.split('\n').find((line) => line.includes(part));

  it('a secret made by this start: says it was made, and where it is kept', () => {
    const text = formatDevelopmentBanner(base);
    expect(lineWith(text, 'development mode')).to.equal(
      'filegate is running in development mode: no JWT key is configured, so a development secret was made and kept in var/dev-jwt-secret.',
    );
  });

  it('a secret an earlier run kept: says it is reused, never that it was made', () => {
    const text = formatDevelopmentBanner({ ...base, secretMade: false });
    expect(lineWith(text, 'development mode')).to.include('the development secret an earlier run kept in var/dev-jwt-secret is used');
    expect(text).to.not.include('was made');
  });

  it('with the browse page on: a link that carries its token in the fragment, never in the query', () => {
    const text = formatDevelopmentBanner({ ...base, browseToken: 'browse.token.value' });
    const links = text.split('\n').filter((line) => line.startsWith(base.origin));
    expect(links).to.deep.equal([`${base.origin}/#token=browse.token.value`]);
    expect(formatDevelopmentBanner(base)).to.not.include('/#token=');
  });

  it('a sample file: one curl command with the token and the URL in single quotes', () => {
    const text = formatDevelopmentBanner({ ...base, sample: { filepath: "docs/it's here.txt" } });
    const commands = text.split('\n').filter((line) => line.startsWith('curl '));
    expect(commands).to.deep.equal([`curl -OJ -H "Authorization: Bearer ${TOKEN}" 'http://localhost:8080/api/download?filepath=docs/it%27s%20here.txt'`]);
    expect(text).to.not.include('No download command');
  });

  // [the walk's answer, the layer, what the one explaining line says]
  const none: Array<[string, BannerFacts['sample'], BannerFacts['layer'], string]> = [
    [
      "an example's root not written yet",
      { filepath: null, cause: 'root-unreadable' },
      media,
      'No download command: the root of layer "OsFs" (var/examples/media-library) does not exist or cannot be read; npm run example -- media-library writes its sample files.',
    ],
    [
      'another root that cannot be read',
      { filepath: null, cause: 'root-unreadable' },
      { ...base.layer, root: '/srv/files' },
      'No download command: the root of layer "OsFs" (/srv/files) does not exist or cannot be read.',
    ],
    [
      'no served file in the levels walked',
      { filepath: null, cause: 'none-served', exhausted: false },
      media,
      'No download command: layer "OsFs" (var/examples/media-library) has no file it serves (types video, audio; up to 20 GB; not empty) within 4 folder levels.',
    ],
    [
      'the entry budget spent',
      { filepath: null, cause: 'none-served', exhausted: true },
      { ...base.layer, policy: { ...base.layer.policy, extensions: ['.mp4'], allowEmpty: true } },
      'No download command: layer "OsFs" (data) has no file it serves (extensions .mp4; up to 50 MB; empty or not) among the first 500 entries.',
    ],
  ];
  for (const [what, sample, layer, line] of none) {
    it(`no sample file (${what}): no curl command, one line saying why, and the token alone`, () => {
      const text = formatDevelopmentBanner({ ...base, sample, layer });
      expect(text).to.not.match(/^curl /m);
      expect(text.split('\n').filter((entry) => entry.startsWith('No download command'))).to.deep.equal([line]);
      expect(text.split('\n')).to.include(TOKEN);
    });
  }
});

describe('toLocalOrigin', () => {
  // [server.host, port, origin]
  const cases: Array<[string, number, string]> = [
    ['0.0.0.0', 8080, 'http://localhost:8080'],
    ['::', 8080, 'http://localhost:8080'],
    ['', 9000, 'http://localhost:9000'],
    ['127.0.0.1', 18080, 'http://127.0.0.1:18080'],
    ['localhost', 8080, 'http://localhost:8080'],
    ['::1', 8080, 'http://[::1]:8080'],
    ['[::1]', 8080, 'http://[::1]:8080'],
    ['files.internal', 80, 'http://files.internal:80'],
  ];
  for (const [host, port, origin] of cases) {
    it(`${JSON.stringify(host)}, ${port} → ${origin}`, () => {
      expect(toLocalOrigin(host, port)).to.equal(origin);
      expect(new URL(origin).origin).to.equal(origin.replace(/:80$/, ''));
    });
  }
  for (const port of [0, -1, 65536, 80.5]) {
    it(`port ${port} names no port a client can use: RangeError`, () => {
      expect(() => toLocalOrigin('0.0.0.0', port)).to.throw(RangeError, /not a port a client can connect to/);
    });
  }
});
