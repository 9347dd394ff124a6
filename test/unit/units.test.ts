// Table tests for size and duration parsing.

import { expect } from 'chai';
import { parseDuration, parseSize } from '../../src/config/units.js';

describe('parseSize', () => {
  const cases: Array<[number | string, number | null]> = [
    [0, 0],
    [1024, 1024],
    ['512', 512],
    ['64KB', 65536],
    ['50MB', 50 * 1024 ** 2],
    ['1.5 GB', 1.5 * 1024 ** 3],
    ['20gb', 20 * 1024 ** 3],
    ['1 MiB', 1024 ** 2],
    [-1, null],
    [1.5, null],
    ['', null],
    ['ten MB', null],
    ['10 XB', null],
    ['-5MB', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => expect(parseSize(input)).to.equal(expected));
  }
});

describe('parseDuration', () => {
  const cases: Array<[number | string, number | null]> = [
    [250, 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    ['30', null],
    ['1w', null],
    [-5, null],
    ['soon', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => expect(parseDuration(input)).to.equal(expected));
  }
});
