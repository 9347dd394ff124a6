// Keeps docs/errors.md and the ERROR_STATUS catalogue in step, and checks what FilegateError carries.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ERROR_STATUS, FilegateError, fail, isFilegateError, type ErrorCode } from '../../src/errors.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/errors.md');

interface DocRow {
  code: string;
  status: number;
  cause: string;
  fix: string;
  line: number;
}

/** Splits a markdown table row into its cells, keeping escaped pipes (`\|`) inside a cell. */
function splitRow(line: string): string[] {
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return body.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** The rows of the `| code | status | cause | fix |` table, with the code unwrapped from its backticks. */
function parseErrorTable(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => /^\|\s*code\s*\|\s*status\s*\|\s*cause\s*\|\s*fix\s*\|\s*$/i.test(line.trim()));
  if (header === -1) throw new Error('docs/errors.md has no "| code | status | cause | fix |" table');
  const rows: DocRow[] = [];
  for (let index = header + 2; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (!line.trim().startsWith('|')) break;
    const cells = splitRow(line);
    if (cells.length !== 4) throw new Error(`docs/errors.md line ${index + 1} has ${cells.length} cells, not 4`);
    const [code, status, cause, fix] = cells as [string, string, string, string];
    const match = /^`([A-Z][A-Z_]*)`$/.exec(code);
    if (!match) throw new Error(`docs/errors.md line ${index + 1}: the code cell ${JSON.stringify(code)} is not one backticked code`);
    if (!/^\d{3}$/.test(status)) throw new Error(`docs/errors.md line ${index + 1}: status ${JSON.stringify(status)} is not a 3-digit number`);
    rows.push({ code: match[1]!, status: Number(status), cause, fix, line: index + 1 });
  }
  return rows;
}

describe('docs/errors.md against ERROR_STATUS', () => {
  const rows = parseErrorTable(readFileSync(DOC, 'utf8'));
  const catalogue = Object.entries(ERROR_STATUS) as Array<[ErrorCode, number]>;
  const byCode = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  it('the table has rows', () => {
    expect(rows.length).to.be.greaterThan(0);
  });

  it('lists exactly the codes of the catalogue, each with the same status', () => {
    const documented = rows.map((row): [string, number] => [row.code, row.status]).sort(byCode);
    const coded = catalogue.map(([code, status]): [string, number] => [code, status]).sort(byCode);
    expect(documented).to.deep.equal(coded);
  });

  it('lists each code once', () => {
    const codes = rows.map((row) => row.code);
    const repeated = codes.filter((code, index) => codes.indexOf(code) !== index);
    expect(repeated, 'codes listed more than once').to.deep.equal([]);
  });

  for (const [code, status] of catalogue) {
    it(`${code} is documented as ${status} with a cause and a fix`, () => {
      const row = rows.find((candidate) => candidate.code === code);
      expect(row, `${code} is missing from docs/errors.md`).to.not.equal(undefined);
      expect(row!.status, `status of ${code} (line ${row!.line})`).to.equal(status);
      expect(row!.cause, `cause of ${code} (line ${row!.line})`).to.match(/\S/);
      expect(row!.fix, `fix of ${code} (line ${row!.line})`).to.match(/\S/);
    });
  }

  it('every documented row has a non-empty cause and fix, including codes unknown to the catalogue', () => {
    const empty = rows.filter((row) => row.cause === '' || row.fix === '').map((row) => row.code);
    expect(empty).to.deep.equal([]);
  });
});

describe('FilegateError', () => {
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];

  for (const code of codes) {
    it(`${code} takes its status ${ERROR_STATUS[code]} from the table`, () => {
      const error = new FilegateError(code, 'a message for a person');
      expect(error.status).to.equal(ERROR_STATUS[code]);
      expect(error.code).to.equal(code);
    });
  }

  it('is exposed (Koa convention), named, and an Error', () => {
    const error = new FilegateError('NOT_FOUND', '"a/b.txt" does not exist');
    expect(error.expose).to.equal(true);
    expect(error.name).to.equal('FilegateError');
    expect(error.message).to.equal('"a/b.txt" does not exist');
    expect(error).to.be.instanceOf(Error);
    expect(isFilegateError(error)).to.equal(true);
    expect(isFilegateError(new Error('plain'))).to.equal(false);
  });

  it('carries the headers it is given, and none otherwise', () => {
    const withHeaders = new FilegateError('METHOD_NOT_ALLOWED', 'POST is not served', { headers: { Allow: 'GET, HEAD' } });
    expect(withHeaders.headers).to.deep.equal({ Allow: 'GET, HEAD' });
    expect(new FilegateError('INTERNAL', 'oops').headers).to.deep.equal({});
  });

  it('keeps the cause for the log without putting it in the message', () => {
    const cause = Object.assign(new Error('EACCES: permission denied, open /srv/secret'), { code: 'EACCES' });
    const error = new FilegateError('NOT_READABLE', '"a.txt" cannot be read', { cause });
    expect(error.cause).to.equal(cause);
    expect(error.message).to.not.include('/srv/secret');
  });

  it('fail() throws a FilegateError with the code, status and headers', () => {
    let thrown: unknown;
    try {
      fail('RATE_LIMITED', 'slow down', { headers: { 'Retry-After': '1' } });
    } catch (error) {
      thrown = error;
    }
    expect(isFilegateError(thrown)).to.equal(true);
    const error = thrown as FilegateError;
    expect([error.code, error.status, error.headers]).to.deep.equal(['RATE_LIMITED', 429, { 'Retry-After': '1' }]);
  });
});
