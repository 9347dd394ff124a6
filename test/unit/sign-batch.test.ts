// POST /api/sign/batch's decisions: the bound on how many files, each file checked as POST /api/sign checks one (refusals per file, in order), and what fails the request as a whole.

import { expect } from 'chai';
import type { Context } from 'koa';
import type { Principal } from '../../src/auth/principal.js';
import { configSchema, type Scope } from '../../src/config/schema.js';
import { ERROR_STATUS, FilegateError, type ErrorCode } from '../../src/errors.js';
import { parseQuery } from '../../src/http/query.js';
import { createLayers, type Layers } from '../../src/layers/create-layers.js';
import { MAX_BATCH_FILES, presignFiles, signBatchBodySchema, toFileRefusal } from '../../src/routes/sign-batch.js';
import { UrlSigner } from '../../src/signing/url-signer.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

const BASE = 'http://files.test';
const signer = new UrlSigner(configSchema.parse({ layers: { OsFs: { root: '/tmp' } }, signing: { keys: { k1: 'k1-secret-that-is-long-enough-0123456789' }, currentKey: 'k1' } }).signing);

const principal = (scopes: Scope[], claims: Partial<Principal> = {}): Principal => ({ subject: 'tester', scopes: new Set(scopes), paths: null, fstypes: null, expiresAt: null, ...claims });
// What presignFiles reads of a request: its principal, and a state to note the layer in.
const contextOf = (who: Principal) => ({ state: { principal: who } }) as unknown as Context;

describe('POST /api/sign/batch', () => {
  describe('the bound on how many files (signBatchBodySchema)', () => {
    const cases: Array<[string, unknown, boolean]> = [
      ['one file', { filepaths: ['a'] }, true],
      [`${MAX_BATCH_FILES} files`, { filepaths: Array.from({ length: MAX_BATCH_FILES }, (_, index) => `f${index}`) }, true],
      [`${MAX_BATCH_FILES + 1} files`, { filepaths: Array.from({ length: MAX_BATCH_FILES + 1 }, (_, index) => `f${index}`) }, false],
      ['no file', { filepaths: [] }, false],
      ['no filepaths', { fstype: 'OsFs' }, false],
      ['a filepath that is not a string', { filepaths: [1] }, false],
      ['an unknown field', { filepaths: ['a'], filepath: 'a' }, false],
      ['the options POST /api/sign takes', { filepaths: ['a'], fstype: 'OsFs', expires_in: '15m', disposition: 'inline' }, true],
      ['a lifetime that is not one', { filepaths: ['a'], expires_in: '15 minutes' }, false],
    ];
    for (const [name, body, valid] of cases) {
      it(`${name}: ${valid ? 'accepted' : 'refused'}`, () => {
        expect(signBatchBodySchema.safeParse(body).success).to.equal(valid);
      });
    }
    it('is the listing\'s default page, so one page\'s thumbnails are one request', () => {
      expect(MAX_BATCH_FILES).to.equal(100);
    });
  });

  describe('toFileRefusal: a file\'s refusal is its outcome, a failure of the service fails the request', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS) as Array<[ErrorCode, number]>) {
      it(`${code} (${status}) ${status < 500 ? 'is the file\'s outcome' : 'is rethrown'}`, () => {
        const error = new FilegateError(code, `message of ${code}`);
        if (status < 500) expect(toFileRefusal(error)).to.deep.equal({ error: `message of ${code}`, code });
        else expect(() => toFileRefusal(error)).to.throw(error.message);
      });
    }
    it('anything that is not a FilegateError is rethrown', () => {
      expect(() => toFileRefusal(new TypeError('boom'))).to.throw('boom');
    });
  });

  describe('presignFiles: each file checked as POST /api/sign checks one', () => {
    let root: TempDir;
    let layers: Layers;

    before(async () => {
      root = tempDir();
      root.file('docs/a.txt', 'a\n');
      root.file('docs/b.txt', 'b\n');
      root.file('empty.txt', '');
      root.file('big.bin', Buffer.alloc(2048));
      root.file('.hidden.txt', 'h\n');
      root.file('private/secret.txt', 's\n');
      for (let index = 0; index < 20; index += 1) root.file(`many/${index}.txt`, `${index}\n`);
      layers = await createLayers(configSchema.parse({ layers: { OsFs: { root: root.dir, maxFileSize: 1024 }, other: { root: root.dir } } }));
    });

    after(() => {
      for (const layer of layers.byName.values()) layer.close();
      root.remove();
    });

    const sign = (who: Principal, filepaths: string[], layer = 'OsFs') => presignFiles(contextOf(who), signer, () => BASE, layers.byName.get(layer)!, filepaths, { disposition: 'inline', requestedMs: 60_000 });

    it('signs what it may, refuses the rest each with the error POST /api/sign would answer, in the order asked', async () => {
      const who = principal(['files:sign', 'files:read'], { paths: [['docs'], ['empty.txt'], ['big.bin'], ['nope.txt'], ['.hidden.txt'], ['x'], ['a']] });
      const asked = ['docs/a.txt', 'empty.txt', 'big.bin', 'docs', 'nope.txt', '.hidden.txt', 'docs/../private/secret.txt', 'a//b', 'private/secret.txt', 'docs/b.txt'];
      const outcomes = await sign(who, asked);
      expect(outcomes.map((outcome) => outcome.filepath)).to.deep.equal(asked);
      expect(outcomes.map((outcome) => ('code' in outcome ? outcome.code : 'signed'))).to.deep.equal([
        'signed', 'FILE_EMPTY', 'FILE_TOO_LARGE', 'NOT_A_FILE', 'NOT_FOUND', 'NOT_FOUND', 'PATH_NOT_ALLOWED', 'BAD_REQUEST', 'FORBIDDEN', 'signed',
      ]);
    });

    it('each signed URL grants its own file, for GET (and its head_url for HEAD), as inline as asked, for the lifetime asked', async () => {
      const [outcome] = await sign(principal(['files:sign', 'files:read']), ['docs/a.txt']);
      if (outcome === undefined || 'code' in outcome) throw new Error('docs/a.txt was not signed');
      const url = new URL(outcome.download_url);
      expect(url.origin).to.equal(BASE);
      const grant = signer.verify('GET', url.pathname, parseQuery(url.search.slice(1)));
      expect([grant.query.get('filepath'), grant.query.get('fstype'), grant.query.get('disposition')]).to.deep.equal([['docs/a.txt'], ['OsFs'], ['inline']]);
      const head = new URL(outcome.head_url);
      expect(signer.verify('HEAD', head.pathname, parseQuery(head.search.slice(1))).method).to.equal('HEAD');
      expect(outcome.expiry).to.be.closeTo(Math.floor(Date.now() / 1000) + 60, 2);
    });

    it('keeps the order of the files asked for while checking several at once', async () => {
      const asked = Array.from({ length: 20 }, (_, index) => (index % 3 === 0 ? `missing/${index}.txt` : `many/${index}.txt`));
      const outcomes = await sign(principal(['files:sign', 'files:read']), asked);
      expect(outcomes.map((outcome) => outcome.filepath)).to.deep.equal(asked);
      expect(outcomes.map((outcome) => 'code' in outcome)).to.deep.equal(asked.map((filepath) => filepath.startsWith('missing/')));
    });

    const whole: Array<[string, Principal, RegExp]> = [
      ['a token without files:sign', principal(['files:read']), /files:sign/],
      ['a token without files:read', principal(['files:sign']), /files:read/],
      ['a token not granted the layer', principal(['files:sign', 'files:read'], { fstypes: ['other'] }), /fstype "OsFs"/],
    ];
    for (const [name, who, message] of whole) {
      it(`${name} fails the whole request with 403 FORBIDDEN, before any file is looked at`, async () => {
        let caught: unknown;
        await sign(who, ['docs/a.txt', 'nope.txt']).catch((error: unknown) => {
          caught = error;
        });
        expect(caught).to.be.instanceOf(FilegateError);
        expect([(caught as FilegateError).code, (caught as FilegateError).message]).to.satisfy(([code, text]: [string, string]) => code === 'FORBIDDEN' && message.test(text));
      });
    }
  });
});
