// Table tests for the Range decision (RFC 9110 §14): Range headers against file sizes, and the coalescing of ranges.

import { expect } from 'chai';
import type { ByteRange } from '../../src/layers/layer.js';
import { coalesce, decideRange, type RangeDecision } from '../../src/transfer/range.js';

const FULL: RangeDecision = { kind: 'full' };
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' };
/** A partial decision from [start, end] pairs (inclusive). */
const partial = (...pairs: Array<[number, number]>): RangeDecision => ({
  kind: 'partial',
  ranges: pairs.map(([start, end]) => ({ start, end })),
});

/** `count` one-byte specs, two bytes apart so that none touches another: "0-0,2-2,4-4,…". */
const spaced = (count: number) => Array.from({ length: count }, (_, i) => `${2 * i}-${2 * i}`).join(',');
const spacedRanges = (count: number) => Array.from({ length: count }, (_, i): [number, number] => [2 * i, 2 * i]);

describe('decideRange', () => {
  const cases: Array<[string | undefined, number, RangeDecision]> = [
    // No header.
    [undefined, 100, FULL],

    // Single ranges.
    ['bytes=0-0', 100, partial([0, 0])],
    // Safari's probe before playing media: exactly two bytes.
    ['bytes=0-1', 100, partial([0, 1])],
    ['bytes=0-99', 100, partial([0, 99])],
    ['bytes=10-19', 100, partial([10, 19])],
    ['bytes=99-99', 100, partial([99, 99])],

    // Open-ended ranges run to the end.
    ['bytes=0-', 100, partial([0, 99])],
    ['bytes=5-', 100, partial([5, 99])],
    ['bytes=99-', 100, partial([99, 99])],

    // Suffix ranges: the last n bytes.
    ['bytes=-1', 100, partial([99, 99])],
    ['bytes=-5', 100, partial([95, 99])],
    ['bytes=-100', 100, partial([0, 99])],
    // A suffix longer than the file is the whole file (§14.1.3).
    ['bytes=-500', 100, partial([0, 99])],

    // A last-pos beyond the end is clamped to the last byte.
    ['bytes=50-500', 100, partial([50, 99])],
    ['bytes=0-100', 100, partial([0, 99])],
    ['bytes=0-99999999999999999999', 100, partial([0, 99])],

    // No satisfiable range → 416.
    ['bytes=100-', 100, UNSATISFIABLE],
    ['bytes=100-100', 100, UNSATISFIABLE],
    ['bytes=101-200', 100, UNSATISFIABLE],
    ['bytes=1000-', 100, UNSATISFIABLE],
    ['bytes=99999999999999999999-', 100, UNSATISFIABLE],
    // A zero-length suffix selects nothing (§14.1.1).
    ['bytes=-0', 100, UNSATISFIABLE],
    ['bytes=100-,200-300,-0', 100, UNSATISFIABLE],

    // A mix keeps the satisfiable specs.
    ['bytes=0-9,200-300', 100, partial([0, 9])],
    ['bytes=100-,-5', 100, partial([95, 99])],
    ['bytes=-0,10-19', 100, partial([10, 19])],

    // Several ranges: overlapping and adjacent ones coalesced (§15.3.7.2 allows it, whatever their order).
    ['bytes=0-9,20-29', 100, partial([0, 9], [20, 29])],
    ['bytes=0-10,5-20', 100, partial([0, 20])],
    ['bytes=0-9,10-19', 100, partial([0, 19])],
    ['bytes=10-19,0-9', 100, partial([0, 19])],
    ['bytes=20-29,0-9,10-19', 100, partial([0, 29])],
    ['bytes=0-9,20-29,10-19', 100, partial([0, 29])],
    // Unordered: the parts keep the order of their specs (§15.3.7.2: the server SHOULD send them in
    // the order the range-specs appeared; Go's ServeContent does), and a merged part takes the place of
    // its earliest spec.
    ['bytes=50-59,0-9', 100, partial([50, 59], [0, 9])],
    ['bytes=50-59,0-9,20-29', 100, partial([50, 59], [0, 9], [20, 29])],
    ['bytes=90-99,5-14,0-9', 100, partial([90, 99], [0, 14])],
    ['bytes=40-49,0-9,5-14,30-35', 100, partial([40, 49], [0, 14], [30, 35])],
    ['bytes=5-14,40-49,0-4', 100, partial([0, 14], [40, 49])],
    ['bytes=0-9,11-19', 100, partial([0, 9], [11, 19])],
    ['bytes=0-20,5-10', 100, partial([0, 20])],
    ['bytes=0-1,-1', 100, partial([0, 1], [99, 99])],
    ['bytes=0-0,-1', 2, partial([0, 1])],

    // The cap on the number of ranges (16 here): at the cap they are served, over it the whole file.
    [`bytes=${spaced(16)}`, 100, partial(...spacedRanges(16))],
    [`bytes=${spaced(17)}`, 100, FULL],

    // Ranges adding up to more than the file: the whole file, however they would coalesce.
    ['bytes=0-,0-', 100, FULL],
    ['bytes=0-60,30-90', 100, FULL],
    ['bytes=-60,-60', 100, FULL],
    // Adding up to exactly the file is allowed.
    ['bytes=0-49,50-99', 100, partial([0, 99])],

    // Malformed headers are ignored (§14.2): the whole file.
    ['bytes=abc', 100, FULL],
    ['bytes=5-1', 100, FULL],
    ['bytes=200-100', 100, FULL],
    ['bytes=1-2-3', 100, FULL],
    // No whitespace inside an int-range (§14.1.2: first-pos "-" [ last-pos ]).
    ['bytes= 1 - 2', 100, FULL],
    ['bytes=', 100, FULL],
    ['bytes=,', 100, FULL],
    ['bytes=-', 100, FULL],
    ['bytes=--5', 100, FULL],
    ['bytes=+5-', 100, FULL],
    ['bytes=0x10-', 100, FULL],
    ['bytes=1.5-2', 100, FULL],
    ['bytes=0-1,abc', 100, FULL],
    ['bytes=abc,0-1', 100, FULL],
    ['bytes 0-5', 100, FULL],
    ['', 100, FULL],
    // No unit.
    ['0-5', 100, FULL],
    ['=0-5', 100, FULL],
    // Another unit is ignored (§14.2).
    ['items=0-5', 100, FULL],
    ['bytesx=0-5', 100, FULL],
    // Range units are case-insensitive (§14.1).
    ['BYTES=0-5', 100, partial([0, 5])],
    ['Bytes=0-5', 100, partial([0, 5])],

    // Lists: OWS around the commas, and empty elements ignored (§5.6.1).
    ['bytes= 0-1 , 3-4', 100, partial([0, 1], [3, 4])],
    ['bytes=0-1,\t3-4', 100, partial([0, 1], [3, 4])],
    ['bytes=0-1,,3-4', 100, partial([0, 1], [3, 4])],
    ['bytes=,0-1', 100, partial([0, 1])],
    ['bytes=0-1,', 100, partial([0, 1])],

    // An empty file has no byte to range over: always the whole (empty) file.
    ['bytes=0-0', 0, FULL],
    ['bytes=0-', 0, FULL],
    ['bytes=-1', 0, FULL],
    ['bytes=5-10', 0, FULL],
    ['bytes=abc', 0, FULL],
    [undefined, 0, FULL],

    // A one-byte file.
    ['bytes=0-0', 1, partial([0, 0])],
    ['bytes=-1', 1, partial([0, 0])],
    ['bytes=1-', 1, UNSATISFIABLE],

    // A file over 4 GB keeps exact offsets.
    ['bytes=4294967296-4294967299', 5 * 1024 ** 3, partial([4294967296, 4294967299])],
    ['bytes=-10', 5 * 1024 ** 3, partial([5 * 1024 ** 3 - 10, 5 * 1024 ** 3 - 1])],
  ];

  for (const [header, size, expected] of cases) {
    const label = header === undefined ? 'no header' : header.length > 60 ? `${JSON.stringify(header.slice(0, 40))}… (${header.split(',').length} specs)` : JSON.stringify(header);
    const answer = expected.kind === 'partial' ? expected.ranges.map((r) => `${r.start}-${r.end}`).join(',') : expected.kind;
    it(`${label} on ${size} bytes → ${answer}`, () => {
      expect(decideRange(header, size, 16)).to.deep.equal(expected);
    });
  }

  describe('maxRanges', () => {
    const cases: Array<[string, number, RangeDecision]> = [
      ['bytes=0-0,2-2', 1, FULL],
      ['bytes=0-0', 1, partial([0, 0])],
      // Counted as sent, before coalescing: adjacent specs still count one each.
      ['bytes=0-0,1-1,2-2', 2, FULL],
      // Empty list elements do not count (§5.6.1).
      ['bytes=0-0,,,2-2', 2, partial([0, 0], [2, 2])],
      [`bytes=${spaced(40)}`, 40, partial(...spacedRanges(40))],
      [`bytes=${spaced(41)}`, 40, FULL],
    ];
    for (const [header, maxRanges, expected] of cases) {
      it(`${header.length > 40 ? `${header.slice(0, 40)}…` : header} with maxRanges ${maxRanges} → ${expected.kind}`, () => {
        expect(decideRange(header, 100, maxRanges)).to.deep.equal(expected);
      });
    }
  });
});

describe('coalesce', () => {
  const r = (start: number, end: number): ByteRange => ({ start, end });
  const cases: Array<[string, ByteRange[], ByteRange[]]> = [
    ['nothing', [], []],
    ['one range', [r(5, 9)], [r(5, 9)]],
    ['apart, in order', [r(0, 9), r(20, 29)], [r(0, 9), r(20, 29)]],
    ['apart by one byte', [r(0, 9), r(11, 19)], [r(0, 9), r(11, 19)]],
    // §15.3.7.2: parts in the order asked; a merged range takes the place of its earliest member.
    ['unordered, kept in the order given', [r(50, 59), r(0, 9)], [r(50, 59), r(0, 9)]],
    ['three unordered, kept in the order given', [r(50, 59), r(0, 9), r(20, 29)], [r(50, 59), r(0, 9), r(20, 29)]],
    ['merged in the place of the earlier member', [r(90, 99), r(5, 14), r(0, 9)], [r(90, 99), r(0, 14)]],
    ['a later range bridging two earlier ones', [r(0, 9), r(20, 29), r(10, 19)], [r(0, 29)]],
    ['overlapping', [r(0, 10), r(5, 20)], [r(0, 20)]],
    ['adjacent', [r(0, 9), r(10, 19)], [r(0, 19)]],
    ['one inside another', [r(0, 100), r(10, 20)], [r(0, 100)]],
    ['the inner one first', [r(10, 20), r(0, 100)], [r(0, 100)]],
    ['the same twice', [r(3, 7), r(3, 7)], [r(3, 7)]],
    ['one-byte ranges in a row', [r(2, 2), r(0, 0), r(1, 1)], [r(0, 2)]],
    ['a chain merging into one', [r(0, 5), r(4, 10), r(11, 15), r(15, 30)], [r(0, 30)]],
    ['merging, then apart', [r(40, 49), r(0, 9), r(5, 14), r(30, 35)], [r(40, 49), r(0, 14), r(30, 35)]],
    ['the same start, the shorter first', [r(0, 4), r(0, 9)], [r(0, 9)]],
    ['the same start, the longer first', [r(0, 9), r(0, 4)], [r(0, 9)]],
  ];
  for (const [what, input, expected] of cases) {
    it(`${what}: ${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      expect(coalesce(input)).to.deep.equal(expected);
    });
  }

  it('leaves its input untouched', () => {
    const input = [r(50, 59), r(0, 9), r(5, 20)];
    const copy = JSON.parse(JSON.stringify(input)) as ByteRange[];
    coalesce(input);
    expect(input).to.deep.equal(copy);
  });
});
