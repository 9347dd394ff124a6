// Table tests for parsing a client's layer path into segments, and the dot-segment and hidden predicates.

import { expect } from 'chai';
import { FilegateError } from '../../src/errors.js';
import { hasDotSegment, isHiddenPath, parseLayerPath, toLayerPathText } from '../../src/paths/layer-path.js';
import { expectFilegateError } from '../helpers/assertions.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

// 20 segments of 200 bytes joined by "/" are 4019 bytes; a last segment tops them up.
const base = Array.from({ length: 20 }, () => 'a'.repeat(200)).join('/');
const path4096 = `${base}/${'b'.repeat(76)}`;
const path4097 = `${base}/${'b'.repeat(77)}`;
// The same limit in multi-byte characters: "é" is 2 bytes, "日" 3, "😀" 4 (and 2 UTF-16 units).
const path4096Wide = `${Array.from({ length: 20 }, () => '日'.repeat(66)).join('/')}/${'é'.repeat(58)}`;
const path4097Wide = `${path4096Wide}x`;
// The limit is on the value as sent: a leading "/" (the layer root) counts as one of its bytes.
const path4096Slash = `/${path4096.slice(1)}`;
const path4097Slash = `/${path4096}`;

const segment255 = 'x'.repeat(255);
const segment256 = 'x'.repeat(256);
const segment255Accent = `${'é'.repeat(127)}a`; // 128 characters, 255 bytes
const segment256Accent = 'é'.repeat(128); // 128 characters, 256 bytes
const segment255Cjk = '日'.repeat(85); // 85 characters, 255 bytes
const segment256Cjk = `${'日'.repeat(85)}a`; // 86 characters, 256 bytes
const segment255Emoji = `${'😀'.repeat(63)}abc`; // 129 UTF-16 units, 255 bytes
const segment256Emoji = '😀'.repeat(64); // 128 UTF-16 units, 256 bytes

const levels = (count: number) => Array.from({ length: count }, (_, index) => `d${index}`);

describe('parseLayerPath', () => {
  it('the byte-length fixtures have the sizes the cases claim', () => {
    expect([bytes(path4096), bytes(path4097), bytes(path4096Wide), bytes(path4097Wide)]).to.deep.equal([4096, 4097, 4096, 4097]);
    expect([bytes(path4096Slash), bytes(path4097Slash)]).to.deep.equal([4096, 4097]);
    expect([segment255, segment255Accent, segment255Cjk, segment255Emoji].map(bytes)).to.deep.equal([255, 255, 255, 255]);
    expect([segment256, segment256Accent, segment256Cjk, segment256Emoji].map(bytes)).to.deep.equal([256, 256, 256, 256]);
    // Each multi-byte segment is well under 255 characters, so only a byte count refuses the 256-byte ones.
    expect([segment256Accent, segment256Cjk, segment256Emoji].every((segment) => segment.length < 255)).to.equal(true);
  });

  describe('accepted paths and their segments', () => {
    const cases: Array<[string, string, readonly string[]]> = [
      ['a single name', 'report.pdf', ['report.pdf']],
      ['nested folders', 'a/b/c.mp4', ['a', 'b', 'c.mp4']],
      ['"/" is the layer root', '/', []],
      ['a single leading "/" is the layer root', '/a/b.txt', ['a', 'b.txt']],
      ['spaces kept as they are', ' my docs / a b .txt', [' my docs ', ' a b .txt']],
      ['unicode names', 'фото/日本語/😀.png', ['фото', '日本語', '😀.png']],
      ['"." kept as a segment (refused later, at its place in the check order)', 'a/./b', ['a', '.', 'b']],
      ['".." kept as a segment', '../etc/passwd', ['..', 'etc', 'passwd']],
      ['a lone ".."', '..', ['..']],
      ['a lone "." after the root slash', '/.', ['.']],
      ['"..." is a plain name', '.../x', ['...', 'x']],
      ['fullwidth dots "．．" are a plain name', '．．/x', ['．．', 'x']],
      ['percent-encoded dots are never decoded again', '%2e%2e/%2E%2E/x', ['%2e%2e', '%2E%2E', 'x']],
      ['an encoded slash stays part of the name', 'a%2fb', ['a%2fb']],
      ['U+2028 is no control character', 'a\u2028b', ['a\u2028b']],
      ['a 255-byte name', segment255, [segment255]],
      ['a 255-byte name of 2-byte characters', segment255Accent, [segment255Accent]],
      ['a 255-byte name of 3-byte characters', segment255Cjk, [segment255Cjk]],
      ['a 255-byte name with 4-byte characters', segment255Emoji, [segment255Emoji]],
      ['a 4096-byte path', path4096, path4096.split('/')],
      ['a 4096-byte path of multi-byte characters', path4096Wide, path4096Wide.split('/')],
      ['a 4096-byte value with the root slash', path4096Slash, path4096Slash.slice(1).split('/')],
      ['64 levels', levels(64).join('/'), levels(64)],
      ['64 levels after the root slash', `/${levels(64).join('/')}`, levels(64)],
    ];
    for (const [what, raw, segments] of cases) {
      it(`${what}: ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`, () => {
        const parsed = parseLayerPath(raw);
        expect(parsed.segments).to.deep.equal(segments);
        expect(parsed.text).to.equal(raw);
      });
    }
  });

  describe('refused with 400 BAD_REQUEST', () => {
    const cases: Array<[string, string]> = [
      ['empty', ''],
      ['a leading "//"', '//x'],
      ['only "//"', '//'],
      ['an empty segment', 'a//b'],
      ['a trailing "/"', 'a/b/'],
      ['a trailing "/" after the root slash', '/a/'],
      ['a backslash', 'a\\b'],
      ['a backslash traversal', '..\\..\\etc\\passwd'],
      ['NUL', 'a\u0000b'],
      ['NUL at the end (C string truncation)', 'a.txt\u0000.png'],
      ['a tab', 'a\tb'],
      ['a line feed', 'a\nb'],
      ['a carriage return', 'a\rb'],
      ['ESC', 'a\u001bb'],
      ['unit separator U+001F', 'a\u001fb'],
      ['DEL', 'a\u007fb'],
      ['C1 control U+0080', 'a\u0080b'],
      ['C1 control NEL U+0085', 'a\u0085b'],
      ['C1 control U+009F', 'a\u009fb'],
      ['a 256-byte name', segment256],
      ['a 256-byte name of 2-byte characters (128 characters)', `dir/${segment256Accent}`],
      ['a 256-byte name of 3-byte characters (86 characters)', segment256Cjk],
      ['a 256-byte name of 4-byte characters (128 UTF-16 units)', segment256Emoji],
      ['a 4097-byte path', path4097],
      ['a 4097-byte path of multi-byte characters (far fewer than 4097 characters)', path4097Wide],
      ['a 4097-byte value with the root slash', path4097Slash],
      ['65 levels', levels(65).join('/')],
      ['65 levels after the root slash', `/${levels(65).join('/')}`],
    ];
    for (const [what, raw] of cases) {
      it(`${what}: ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`, () => {
        const error = expectFilegateError(() => parseLayerPath(raw), 'BAD_REQUEST', 400);
        expect(error.message).to.be.a('string').and.not.equal('');
      });
    }
  });

  it('names the parameter it was given in the message', () => {
    const error = expectFilegateError(() => parseLayerPath('a//b', 'path'), 'BAD_REQUEST', 400);
    expect(error.message).to.match(/^path /);
  });

  it('never puts a raw control character into the message', () => {
    for (const raw of ['a\nb', 'a\rb', 'a\u0000b', 'a\u001bb']) {
      const error = expectFilegateError(() => parseLayerPath(raw), 'BAD_REQUEST', 400);
      expect(error.message).to.not.match(/[\u0000-\u001f]/);
    }
  });
});

describe('hasDotSegment', () => {
  const cases: Array<[readonly string[], boolean]> = [
    [[], false],
    [['a', 'b'], false],
    [['.'], true],
    [['..'], true],
    [['a', '..', 'b'], true],
    [['a', '.'], true],
    [['...'], false],
    [['.hidden'], false],
    [['..a'], false],
    [['a..'], false],
    [['．．'], false],
    [['%2e%2e'], false],
  ];
  for (const [segments, expected] of cases) {
    it(`${JSON.stringify(segments)} → ${expected}`, () => expect(hasDotSegment(segments)).to.equal(expected));
  }
});

describe('isHiddenPath', () => {
  const cases: Array<[readonly string[], boolean]> = [
    [[], false],
    [['a', 'b.txt'], false],
    [['.env'], true],
    [['.git', 'config'], true],
    [['a', '.ssh', 'id_rsa'], true],
    [['a', 'b', '.hidden.txt'], true],
    [['a.', 'b'], false],
    [['a.b'], false],
    [['．env'], false],
  ];
  for (const [segments, expected] of cases) {
    it(`${JSON.stringify(segments)} → ${expected}`, () => expect(isHiddenPath(segments)).to.equal(expected));
  }
});

describe('parseLayerPath with what the client sent (route aliases)', () => {
  it('keeps the segments of the layer path, and names what was sent as its text', () => {
    const parsed = parseLayerPath('library/secret/a.txt', 'path', '/books/a.txt');
    expect(parsed.segments).to.deep.equal(['library', 'secret', 'a.txt']);
    expect(parsed.text).to.equal('/books/a.txt');
  });

  it('a refusal names what was sent, never the layer path', () => {
    const error = expectFilegateError(() => parseLayerPath('library/a\\b', 'path', '/books/x'), 'BAD_REQUEST', 400);
    expect(error.message).to.include('/books/x');
    expect(error.message).to.not.include('library');
  });
});

describe('toLayerPathText', () => {
  const cases: Array<[string, string]> = [
    ['a/b.txt', 'a/b.txt'],
    ['/a/b.txt', 'a/b.txt'],
    ['/', '/'],
    ['docs', 'docs'],
  ];
  for (const [raw, text] of cases) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(text)}, whatever was sent`, () => expect(toLayerPathText(parseLayerPath(raw, 'path', 'sent'))).to.equal(text));
  }
});
