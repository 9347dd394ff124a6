// Table tests for what a listing answers: each entry's view and links, the query schema's limits, and the cursor key of a config.

import { expect } from 'chai';
import { configSchema } from '../../src/config/schema.js';
import { parseQuery, parseQueryWith } from '../../src/http/query.js';
import { decodeCursor, encodeCursor } from '../../src/listing/listing-cursor.js';
import { createListingOptions, listQuerySchema, listResponseSchema, toEntryView } from '../../src/routes/list.js';
import { expectFilegateError } from '../helpers/assertions.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256-0123456789';

describe('toEntryView', () => {
  const mtimeMs = Date.UTC(2024, 1, 29, 12, 30, 15, 250) + 0.75;

  it('a file: size, ISO 8601 time, media type, category and a relative download link', () => {
    const view = toEntryView('OsFs', { directory: false, key: 0, name: 'clip.mp4', kind: 'file', segments: ['media', 'clip.mp4'], size: 1234, mtimeMs });
    expect(view).to.deep.equal({
      name: 'clip.mp4',
      path: 'media/clip.mp4',
      kind: 'file',
      size: 1234,
      modified: '2024-02-29T12:30:15.250Z',
      mime: 'video/mp4',
      type: 'video',
      download_url: '/api/download?filepath=media%2Fclip.mp4&fstype=OsFs',
    });
    expect(listResponseSchema.shape.entries.element.safeParse(view).success).to.equal(true);
  });

  it('a folder: no size or type, and a relative list link', () => {
    const view = toEntryView('media', { directory: true, key: 0, name: 'sub', kind: 'directory', segments: ['a', 'sub'], size: 4096, mtimeMs });
    expect(view).to.deep.equal({ name: 'sub', path: 'a/sub', kind: 'directory', modified: '2024-02-29T12:30:15.250Z', list_url: '/api/list?path=a%2Fsub&fstype=media' });
    expect(listResponseSchema.shape.entries.element.safeParse(view).success).to.equal(true);
  });

  it('a file in no category: type null, application/octet-stream', () => {
    const view = toEntryView('OsFs', { directory: false, key: 0, name: 'blob', kind: 'file', segments: ['blob'], size: 1, mtimeMs });
    expect(view).to.include({ mime: 'application/octet-stream', type: null });
  });

  const links: Array<[string, string]> = [
    ['a&b=c.txt', 'a%26b%3Dc.txt'],
    ['50% off+more.txt', '50%25%20off%2Bmore.txt'],
    ['hash#tag?.txt', 'hash%23tag%3F.txt'],
    ["it's (1)!*.txt", 'it%27s%20%281%29%21%2A.txt'],
    ['ünï ☃.txt', '%C3%BCn%C3%AF%20%E2%98%83.txt'],
  ];
  for (const [name, encoded] of links) {
    it(`links encode ${JSON.stringify(name)} the RFC 3986 way, and the query parser reads it back`, () => {
      const view = toEntryView('OsFs', { directory: false, key: 0, name, kind: 'file', segments: ['d', name], size: 1, mtimeMs });
      const url = view.kind === 'file' ? view.download_url : '';
      expect(url).to.equal(`/api/download?filepath=d%2F${encoded}&fstype=OsFs`);
      expect(parseQuery(url.slice(url.indexOf('?') + 1)).get('filepath')).to.deep.equal([`d/${name}`]);
    });
  }
});

describe('listQuerySchema', () => {
  const parse = (querystring: string) => parseQueryWith(parseQuery(querystring), listQuerySchema);

  it('defaults: the root, name, asc, folders first, 100 entries', () => {
    expect(parse('')).to.deep.equal({ sort: 'name', order: 'asc', dirs: 'first', limit: 100 });
  });

  const limits: Array<[string, number | null]> = [
    ['1', 1],
    ['7', 7],
    ['999', 999],
    ['1000', 1000],
    ['0', null],
    ['1001', null],
    ['10000', null],
    ['abc', null],
    ['-1', null],
    ['1.0', null],
    ['1e2', null],
    ['0x10', null],
    ['01', null],
    ['', null],
  ];
  for (const [value, expected] of limits) {
    it(`limit=${JSON.stringify(value)} → ${expected ?? 'BAD_REQUEST'}`, () => {
      if (expected !== null) expect(parse(`limit=${value}`).limit).to.equal(expected);
      else expect(expectFilegateError(() => parse(`limit=${value}`), 'BAD_REQUEST', 400).message).to.include('"limit"');
    });
  }
});

describe('createListingOptions', () => {
  const config = (auth: Record<string, unknown>, keys: Record<string, string> = {}) =>
    configSchema.parse({ layers: { OsFs: { root: '/tmp' } }, auth, signing: { keys, currentKey: Object.keys(keys)[0] ?? null } });
  const k1 = 'k'.repeat(32);
  const k2 = 'm'.repeat(32);

  const scope = { fstype: 'OsFs', path: ['a'], sort: 'name', order: 'asc', dirs: 'first', types: [], q: null, prefix: null };
  const last = { directory: false, key: 0, name: 'x' };
  const accepts = (reader: ReturnType<typeof createListingOptions>, writer: ReturnType<typeof createListingOptions>) => {
    try {
      decodeCursor(reader.cursorKeys, scope, encodeCursor(writer.cursorKeys, scope, last));
      return true;
    } catch {
      return false;
    }
  };

  it('replicas with the same secrets accept each other\'s cursors, whatever the order of signing.keys', () => {
    expect(accepts(createListingOptions(config({ secret: SECRET }, { a: k1, b: k2 })), createListingOptions(config({ secret: SECRET }, { a: k1, b: k2 })))).to.equal(true);
  });

  it('signs with the current signing key: a replica that has it accepts, whatever its other keys and auth.secret', () => {
    const withNewKey = createListingOptions(config({ secret: SECRET }, { a: k1, b: k2 }));
    const before = createListingOptions(config({ secret: SECRET }, { a: k1 }));
    expect(accepts(withNewKey, before)).to.equal(true);
    expect(accepts(before, withNewKey)).to.equal(true);
    expect(accepts(createListingOptions(config({ secret: `${SECRET}x` }, { a: k1 })), before), 'another auth.secret').to.equal(true);
  });

  it('signs with auth.secret when there are no signing keys; another secret refuses', () => {
    expect(accepts(createListingOptions(config({ secret: SECRET })), createListingOptions(config({ secret: SECRET })))).to.equal(true);
    expect(accepts(createListingOptions(config({ secret: `${SECRET}x` })), createListingOptions(config({ secret: SECRET })))).to.equal(false);
  });

  it('uses the signing keys alone when there is no auth.secret', () => {
    expect(accepts(createListingOptions(config({}, { a: k1 })), createListingOptions(config({}, { a: k1 })))).to.equal(true);
  });

  it('is random per process with no secret at all', () => {
    expect(accepts(createListingOptions(config({})), createListingOptions(config({})))).to.equal(false);
  });
});
