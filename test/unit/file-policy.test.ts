// Table tests for the file policy: not-a-file, type, emptiness and size, in the SPEC's order, and byte formatting.

import { expect } from 'chai';
import { FilegateError } from '../../src/errors.js';
import { checkFilePolicy, checkIsFile, formatBytes, isTypeAllowed, type EntryKind, type FilePolicy } from '../../src/files/file-policy.js';
import { expectFilegateError } from '../helpers/assertions.js';

const MB = 1024 ** 2;
const anyType: FilePolicy = { owner: 'layer "OsFs"', maxFileSize: 50 * MB, allowEmpty: false };
const media: FilePolicy = { owner: 'layer "media"', maxFileSize: 50 * MB, allowEmpty: false, types: ['video', 'audio'] };
const byExtension: FilePolicy = { owner: 'route "/download/video/:filename"', maxFileSize: 50 * MB, allowEmpty: false, extensions: ['.mp4', '.WAV', '.tar.gz'] };

describe('checkIsFile', () => {
  const refused: EntryKind[] = ['directory', 'symlink', 'fifo', 'socket', 'device', 'other'];
  for (const kind of refused) {
    it(`${kind} → 403 NOT_A_FILE naming the path`, () => {
      const error = expectFilegateError(() => checkIsFile(kind, 'a/b'), 'NOT_A_FILE', 403);
      expect(error.message).to.include('"a/b"');
    });
  }
  it('file → ok', () => expect(() => checkIsFile('file', 'a/b')).to.not.throw());
});

describe('isTypeAllowed', () => {
  const cases: Array<[string, FilePolicy, boolean]> = [
    ['anything.exe', anyType, true],
    ['no-extension', anyType, true],
    ['clip.mp4', media, true],
    ['CLIP.MP4', media, true],
    ['song.wav', media, true],
    ['song.mp3', media, true],
    ['photo.png', media, false],
    ['notes.txt', media, false],
    ['no-extension', media, false],
    ['clip.mp4.exe', media, false],
    ['clip.mp4', byExtension, true],
    ['CLIP.MP4', byExtension, true],
    ['song.wav', byExtension, true],
    ['backup.tar.gz', byExtension, true],
    ['backup.gz', byExtension, false],
    ['clip.mp4.txt', byExtension, false],
    ['clipmp4', byExtension, false],
    ['song.mp3', byExtension, false],
  ];
  for (const [name, policy, expected] of cases) {
    it(`${name} under ${policy.owner} (${policy.types?.join(',') ?? policy.extensions?.join(',') ?? 'any type'}) → ${expected}`, () => {
      expect(isTypeAllowed(name, policy)).to.equal(expected);
    });
  }

  it('regression: an SVG counts as an image for a layer serving types ["image"]', () => {
    const images: FilePolicy = { ...anyType, types: ['image'] };
    expect(isTypeAllowed('logo.svg', images)).to.equal(true);
  });
});

describe('checkFilePolicy order: NOT_A_FILE, TYPE_NOT_ALLOWED, FILE_EMPTY, FILE_TOO_LARGE', () => {
  const cases: Array<{ what: string; kind: EntryKind; size: number; names: string[]; policy: FilePolicy; code: string | null; status?: number }> = [
    { what: 'a folder of a refused type, empty', kind: 'directory', size: 0, names: ['x.exe'], policy: media, code: 'NOT_A_FILE', status: 403 },
    { what: 'a FIFO of a refused type, too large', kind: 'fifo', size: 60 * MB, names: ['x.exe'], policy: media, code: 'NOT_A_FILE', status: 403 },
    { what: 'a device, empty and too large by the policy', kind: 'device', size: 0, names: ['clip.mp4'], policy: { ...media, maxFileSize: 0 }, code: 'NOT_A_FILE', status: 403 },
    { what: 'a refused type that is also empty', kind: 'file', size: 0, names: ['x.exe'], policy: media, code: 'TYPE_NOT_ALLOWED', status: 403 },
    { what: 'a refused type that is also too large', kind: 'file', size: 60 * MB, names: ['x.exe'], policy: media, code: 'TYPE_NOT_ALLOWED', status: 403 },
    { what: 'a refused extension that is also too large', kind: 'file', size: 60 * MB, names: ['x.mov'], policy: byExtension, code: 'TYPE_NOT_ALLOWED', status: 403 },
    { what: 'an allowed name whose symlink target is of a refused type', kind: 'file', size: 10, names: ['clip.mp4', 'secrets.txt'], policy: media, code: 'TYPE_NOT_ALLOWED', status: 403 },
    { what: 'a refused name whose symlink target is of an allowed type', kind: 'file', size: 10, names: ['secrets.txt', 'clip.mp4'], policy: media, code: 'TYPE_NOT_ALLOWED', status: 403 },
    { what: 'an empty file where the size limit is 0', kind: 'file', size: 0, names: ['clip.mp4'], policy: { ...media, maxFileSize: 0 }, code: 'FILE_EMPTY', status: 412 },
    { what: 'an empty file', kind: 'file', size: 0, names: ['clip.mp4'], policy: media, code: 'FILE_EMPTY', status: 412 },
    { what: 'a file one byte over the limit', kind: 'file', size: 50 * MB + 1, names: ['clip.mp4'], policy: media, code: 'FILE_TOO_LARGE', status: 413 },
    { what: 'a file over the limit with allowEmpty', kind: 'file', size: 60 * MB, names: ['clip.mp4'], policy: { ...media, allowEmpty: true }, code: 'FILE_TOO_LARGE', status: 413 },
    { what: 'an empty file with allowEmpty', kind: 'file', size: 0, names: ['clip.mp4'], policy: { ...media, allowEmpty: true }, code: null },
    { what: 'an empty file with allowEmpty and a limit of 0', kind: 'file', size: 0, names: ['clip.mp4'], policy: { ...media, allowEmpty: true, maxFileSize: 0 }, code: null },
    { what: 'a file exactly at the limit', kind: 'file', size: 50 * MB, names: ['clip.mp4'], policy: media, code: null },
    { what: 'a one-byte file of any type', kind: 'file', size: 1, names: ['x.exe'], policy: anyType, code: null },
    { what: 'a symlinked file whose names both pass', kind: 'file', size: 1, names: ['clip.mp4', 'real.webm'], policy: media, code: null },
  ];
  for (const { what, kind, size, names, policy, code, status } of cases) {
    it(`${what} → ${code ?? 'ok'}`, () => {
      const action = () => checkFilePolicy({ kind, size }, names, policy, 'a/requested');
      if (code === null) return expect(action).to.not.throw();
      const error = expectFilegateError(action, code, status!);
      expect(error.message).to.include('"a/requested"');
    });
  }

  it('TYPE_NOT_ALLOWED names the owner and what it serves', () => {
    const error = expectFilegateError(() => checkFilePolicy({ kind: 'file', size: 1 }, ['x.exe'], media, 'x.exe'), 'TYPE_NOT_ALLOWED', 403);
    expect(error.message).to.include('layer "media"').and.include('video').and.include('audio');
    const byRoute = expectFilegateError(() => checkFilePolicy({ kind: 'file', size: 1 }, ['x.exe'], byExtension, 'x.exe'), 'TYPE_NOT_ALLOWED', 403);
    expect(byRoute.message).to.include('route "/download/video/:filename"').and.include('.mp4');
  });

  it('FILE_EMPTY names the owner', () => {
    const error = expectFilegateError(() => checkFilePolicy({ kind: 'file', size: 0 }, ['a.mp4'], media, 'a.mp4'), 'FILE_EMPTY', 412);
    expect(error.message).to.include('layer "media"');
  });

  it('FILE_TOO_LARGE names the owner and both sizes', () => {
    const error = expectFilegateError(() => checkFilePolicy({ kind: 'file', size: 80 * MB }, ['b.mp4'], media, 'a/b.mp4'), 'FILE_TOO_LARGE', 413);
    expect(error.message).to.include('"a/b.mp4"').and.include('layer "media"').and.include('80 MB').and.include('50 MB');
  });

  it('regression: FILE_TOO_LARGE never shows the file size and the limit as the same number', () => {
    // A file 40 KB over a 50 MB limit must not read "is 50 MB; ... up to 50 MB".
    for (const size of [50 * MB + 1, 50 * MB + 40 * 1024]) {
      const error = expectFilegateError(() => checkFilePolicy({ kind: 'file', size }, ['b.mp4'], media, 'b.mp4'), 'FILE_TOO_LARGE', 413);
      const match = /is (.+); .* up to (.+)$/.exec(error.message);
      expect(match, error.message).to.not.equal(null);
      expect(match![1], error.message).to.not.equal(match![2]);
    }
  });
});

describe('formatBytes', () => {
  const cases: Array<[number, string]> = [
    [0, '0 bytes'],
    [512, '512 bytes'],
    [1023, '1023 bytes'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [50 * MB, '50 MB'],
    [80 * MB, '80 MB'],
    [1.5 * 1024 ** 3, '1.5 GB'],
    [20 * 1024 ** 3, '20 GB'],
    [1024 ** 4, '1 TB'],
    [2048 * 1024 ** 4, '2048 TB'],
    // Rounding up to 1024 of a unit moves to the next unit.
    [MB - 1, '1 MB'],
  ];
  for (const [bytes, expected] of cases) {
    it(`${bytes} → ${expected}`, () => expect(formatBytes(bytes)).to.equal(expected));
  }
});
