// Table tests for Content-Disposition values: the RFC 6266/8187 shape, no header injection, and a lossless filename*.

import { expect } from 'chai';
import http from 'node:http';
import { toContentDisposition, toSavedName, type DispositionType } from '../../src/transfer/content-disposition.js';

// type; filename="<printable ASCII but " \ %>"; filename*=UTF-8''<attr-char or %XX> (RFC 8187 §3.2.1).
const SHAPE = /^(attachment|inline); filename="([\x20-\x21\x23-\x24\x26-\x5b\x5d-\x7e]*)"; filename\*=UTF-8''((?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})*)$/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const names: Array<[string, string]> = [
  ['plain ASCII', 'report.pdf'],
  ['spaces', 'my report 2024 .pdf'],
  ['double quotes', 'say "hi".txt'],
  ['a quote breaking out into a new parameter', 'x"; filename="evil.exe'],
  ['a backslash', 'a\\b.txt'],
  ['a backslash before the closing quote', 'end\\'],
  ['a percent sign', '100%.txt'],
  ['something that looks percent-encoded', 'a%20b%0D%0A.txt'],
  ['a semicolon and an equals sign', 'a;b=c.txt'],
  ['apostrophe, parentheses, star', "it's (1)*.txt"],
  ['CR/LF header injection', 'a.txt\r\nSet-Cookie: x=1'],
  ['a lone LF', 'a\nb.txt'],
  ['NUL', 'a\u0000b.txt'],
  ['a tab', 'a\tb.txt'],
  ['ESC', '\u001b[31mred.txt'],
  ['DEL', 'a\u007fb.txt'],
  ['C1 control NEL', 'a\u0085b.txt'],
  ['U+2028 line separator', 'a\u2028b.txt'],
  ['é', 'café.txt'],
  ['日本語', '日本語のファイル.pdf'],
  ['emoji', '😀 party 🎉.png'],
  ['a lone high surrogate', '\uD800'],
  ['a lone surrogate in a name', 'a\uD800b.txt'],
  ['a lone low surrogate', '\uDC00.txt'],
  ['a byte-order mark', '\uFEFFbom.txt'],
  ['only non-ASCII', 'ü'],
  ['empty', ''],
  ['a right-to-left override hiding .exe', 'invoice\u202Egpj.exe'],
  ['every bidi embedding and override', 'a\u202Ab\u202Bc\u202Cd\u202De\u202Ef.txt'],
  ['bidi isolates', '\u2066x\u2067y\u2068z\u2069.txt'],
  ['LRM, RLM and the Arabic letter mark', 'a\u200Eb\u200Fc\u061Cd.txt'],
];

const types: DispositionType[] = ['attachment', 'inline'];

describe('toContentDisposition', () => {
  for (const type of types) {
    for (const [what, name] of names) {
      it(`${type}: ${what} ${JSON.stringify(name)}`, () => {
        let value = '';
        expect(() => {
          value = toContentDisposition(type, name);
        }).to.not.throw();
        expect(value).to.not.match(/[\r\n]/);
        const match = SHAPE.exec(value);
        expect(match, value).to.not.equal(null);
        expect(match![1]).to.equal(type);
        const fallback = match![2]!;
        const decoded = decodeURIComponent(match![3]!);
        const expected = name.toWellFormed().replace(CONTROLS, '_');
        if (expected === '') {
          // No name at all: some non-empty name, the same in both parameters.
          expect(decoded).to.not.equal('');
          expect(fallback).to.equal(decoded);
        } else {
          expect(decoded).to.equal(expected);
          expect(fallback.length, 'one fallback character per UTF-16 unit at most').to.be.at.most(expected.length);
        }
        // Node refuses header values it could not send as they are.
        expect(() => http.validateHeaderValue('Content-Disposition', value)).to.not.throw();
        expect(new Headers({ 'content-disposition': value }).get('content-disposition')).to.equal(value);
      });
    }
  }

  it('keeps a plain ASCII name as it is in the fallback', () => {
    expect(toContentDisposition('attachment', 'my report (v2).pdf')).to.equal(
      `attachment; filename="my report (v2).pdf"; filename*=UTF-8''my%20report%20%28v2%29.pdf`,
    );
  });

  it('replaces non-ASCII with "_" in the fallback but keeps the extension', () => {
    const match = SHAPE.exec(toContentDisposition('attachment', '日本語.pdf'));
    expect(match![2]).to.match(/^_+\.pdf$/);
  });

  it('regression: a right-to-left override cannot make "invoice\\u202Egpj.exe" display as "invoiceexe.jpg"', () => {
    const value = toContentDisposition('attachment', 'invoice\u202Egpj.exe');
    expect(value).to.equal(`attachment; filename="invoice_gpj.exe"; filename*=UTF-8''invoice_gpj.exe`);
  });

  it('regression: a quote in the name cannot add a second filename parameter', () => {
    const value = toContentDisposition('attachment', 'x"; filename="evil.exe');
    expect(value.match(/filename="/g)).to.have.length(1);
    expect(value.match(/"/g)).to.have.length(2);
  });
});

describe('toSavedName', () => {
  const cases: Array<[string, string, string]> = [
    ['a plain name is kept', 'report.pdf', 'report.pdf'],
    ['non-ASCII letters and emoji are kept', 'café 😀.png', 'café 😀.png'],
    ['a zero-width joiner inside an emoji is kept', '👩\u200D💻.txt', '👩\u200D💻.txt'],
    ['a right-to-left override is replaced', 'invoice\u202Egpj.exe', 'invoice_gpj.exe'],
    ['isolates are replaced', '\u2066a\u2069', '_a_'],
    ['control characters are replaced', 'a\nb\u0000c\u0085', 'a_b_c_'],
    ['a lone surrogate is made well-formed', 'a\uD800', 'a\uFFFD'],
  ];
  for (const [what, name, saved] of cases) {
    it(`${what}: ${JSON.stringify(name)}`, () => {
      expect(toSavedName(name)).to.equal(saved);
    });
  }
});
