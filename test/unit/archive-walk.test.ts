// Table tests for the pure helpers of archives: safe entry segments and their saved form, entry prefixes, the token-path walk predicate and the saved file name.

import { expect } from 'chai';
import { entryPrefixOf, isSafeEntrySegment, toEntrySegment } from '../../src/archives/archive-walk.js';
import { isOnWayOrWithin } from '../../src/auth/principal.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { archiveFilename } from '../../src/routes/archive.js';

/** A name as a test title shows it: JSON, with bidi controls escaped too, so the report reads as written. */
const shown = (name: string) => JSON.stringify(name).replace(/\p{Bidi_Control}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);

describe('isSafeEntrySegment', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a plain name', 'report.pdf', true],
    ['spaces and unicode', 'ünïcødé ☃ 日本.txt', true],
    ['an emoji', '😀.png', true],
    ['a quote', 'say "hi".txt', true],
    ['a dot-file (hidden is decided elsewhere)', '.profile', true],
    ['three dots', '...', true],
    ['dots inside a name', 'a..b', true],
    ['the empty name', '', false],
    ['"."', '.', false],
    ['".."', '..', false],
    ['the zip-slip of Windows tools', '..\\..\\evil.bat', false],
    ['a lone backslash inside', 'a\\b', false],
    ['a slash', 'a/b', false],
    ['CR and LF', 'cr\r\nlf.txt', false],
    ['a newline only', 'line\nbreak', false],
    ['a quote and a newline', 'quote"and\nnewline', false],
    ['a tab', 'tab\there', false],
    ['NUL', 'nul\u0000byte', false],
    ['ESC (terminal escapes)', 'esc\u001b[31mred', false],
    ['DEL', 'del\u007f', false],
    ['a C1 control (NEL)', 'nel\u0085x', false],
    ['the last C1 control', 'apc\u009f', false],
  ];
  for (const [label, name, expected] of cases) {
    it(`${label}: ${JSON.stringify(name)} → ${expected}`, () => expect(isSafeEntrySegment(name)).to.equal(expected));
  }
});

describe('toEntrySegment (regression: bidi controls made `invoice\\u202Egpj.exe` display as "invoiceexe.jpg" in an archive)', () => {
  const cases: Array<[string, string, string | null]> = [
    ['a plain name stays', 'report.pdf', 'report.pdf'],
    ['unicode stays', 'ünïcødé ☃ 日本.txt', 'ünïcødé ☃ 日本.txt'],
    ['RIGHT-TO-LEFT OVERRIDE is replaced', 'invoice\u202Egpj.exe', 'invoice_gpj.exe'],
    ['LEFT-TO-RIGHT and RIGHT-TO-LEFT MARKS are replaced', 'a\u200Eb\u200Fc', 'a_b_c'],
    ['the embeddings and POP DIRECTIONAL FORMATTING are replaced', '\u202Aa\u202Bb\u202Cc\u202Dd', '_a_b_c_d'],
    ['the isolates are replaced', '\u2066a\u2067b\u2068c\u2069', '_a_b_c_'],
    ['ARABIC LETTER MARK is replaced', 'x\u061Cy', 'x_y'],
    ['a zero-width joiner (not a bidi control) stays', 'a\u200Db', 'a\u200Db'],
    ['a control character leaves the entry out', 'cr\r\nlf.txt', null],
    ['a control character with a bidi control leaves it out', 'esc\u001b\u202E', null],
    ['a backslash leaves it out', '..\\..\\evil.bat', null],
    ['".." leaves it out', '..', null],
    ['the empty name leaves it out', '', null],
  ];
  for (const [label, name, expected] of cases) {
    it(`${label}: ${shown(name)} → ${JSON.stringify(expected)}`, () => expect(toEntrySegment(name)).to.equal(expected));
  }
});

describe('entryPrefixOf', () => {
  const cases: Array<[string, string[]]> = [
    ['/', []],
    ['photos', ['photos']],
    ['users/42', ['42']],
    ['a/b/c.txt', ['c.txt']],
    ['/docs/ünï ☃', ['ünï ☃']],
    ['docs/invoice\u202Egpj.exe', ['invoice_gpj.exe']],
  ];
  for (const [raw, expected] of cases) {
    it(`${shown(raw)} → ${JSON.stringify(expected)}`, () => expect(entryPrefixOf(parseLayerPath(raw, 'path'))).to.deep.equal(expected));
  }
});

describe('isOnWayOrWithin', () => {
  const users42 = [['users', '42']];
  const cases: Array<[string, readonly (readonly string[])[] | null, string[], boolean]> = [
    ['no paths claim: everything', null, ['anything', 'at', 'all'], true],
    ['no paths claim: the root', null, [], true],
    ['the root is on the way to every prefix', users42, [], true],
    ['a folder on the way', users42, ['users'], true],
    ['the prefix itself', users42, ['users', '42'], true],
    ['below the prefix', users42, ['users', '42', 'photos', 'a.jpg'], true],
    ['a sibling sharing a string prefix (users/420)', users42, ['users', '420'], false],
    ['below that sibling', users42, ['users', '420', 'x.txt'], false],
    ['a sibling of the folder on the way', users42, ['users', '43'], false],
    ['another top folder', users42, ['docs'], false],
    ['a file named like the folder on the way', users42, ['users.txt'], false],
    ['the second of several prefixes', [['users', '42'], ['docs']], ['docs', 'readme.md'], true],
    ['none of several prefixes', [['users', '42'], ['docs']], ['doc'], false],
    ['an empty list of prefixes grants nothing', [], [], false],
    ['a root prefix grants everything', [[]], ['a', 'b'], true],
  ];
  for (const [label, paths, segments, expected] of cases) {
    it(`${label} → ${expected}`, () => expect(isOnWayOrWithin(paths, segments)).to.equal(expected));
  }
});

describe('archiveFilename', () => {
  const targets = (...raws: string[]) => raws.map((raw) => parseLayerPath(raw, 'path'));
  const cases: Array<[string, string | undefined, string[], 'zip' | 'tar.gz', string]> = [
    ['a folder gives its name', undefined, ['photos'], 'zip', 'photos.zip'],
    ['a nested folder gives its last name', undefined, ['users/42'], 'zip', '42.zip'],
    ['a file keeps its name and gains the extension', undefined, ['a/report.pdf'], 'zip', 'report.pdf.zip'],
    ['tar.gz', undefined, ['photos'], 'tar.gz', 'photos.tar.gz'],
    ['several paths are "archive"', undefined, ['photos', 'docs'], 'zip', 'archive.zip'],
    ['several paths as tar.gz', undefined, ['photos', 'docs'], 'tar.gz', 'archive.tar.gz'],
    ['the layer root is "archive"', undefined, ['/'], 'zip', 'archive.zip'],
    ['name wins over the folder', 'holiday', ['photos'], 'zip', 'holiday.zip'],
    ['name wins over several paths', 'bundle', ['photos', 'docs'], 'tar.gz', 'bundle.tar.gz'],
    ['the extension is added once', 'holiday.zip', ['photos'], 'zip', 'holiday.zip'],
    ['the extension is matched without regard to case', 'HOLIDAY.ZIP', ['photos'], 'zip', 'HOLIDAY.ZIP'],
    ['tar.gz extension added once', 'x.tar.gz', ['photos'], 'tar.gz', 'x.tar.gz'],
    ['a zip name asked for as tar.gz gains .tar.gz', 'x.zip', ['photos'], 'tar.gz', 'x.zip.tar.gz'],
    ['".gz" alone is not ".tar.gz"', 'x.gz', ['photos'], 'tar.gz', 'x.gz.tar.gz'],
    ['separators in name become "_"', 'a/b\\c', ['photos'], 'zip', 'a_b_c.zip'],
    ['unicode names stay', 'ünï ☃', ['photos'], 'zip', 'ünï ☃.zip'],
    ['a unicode folder name', undefined, ['ünï ☃'], 'zip', 'ünï ☃.zip'],
  ];
  for (const [label, name, raws, format, expected] of cases) {
    it(`${label}: ${JSON.stringify(name)} ${JSON.stringify(raws)} ${format} → ${JSON.stringify(expected)}`, () => {
      expect(archiveFilename(name, targets(...raws), format)).to.equal(expected);
    });
  }
});
