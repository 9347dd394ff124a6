// Table tests for the natural name order: numbers by value, case folded, and a total order with the raw code units as the last word.

import { expect } from 'chai';
import { compareNatural } from '../../src/listing/natural-order.js';

const sign = (value: number) => Math.sign(value);

describe('compareNatural', () => {
  const before: Array<[string, string, string]> = [
    ['numbers by value', 'file2', 'file10'],
    ['numbers by value, then text', 'file2.txt', 'file10.txt'],
    ['a number of any length (no overflow)', 'f99999999999999999999', 'f100000000000000000000'],
    ['version parts', 'v1.9', 'v1.10'],
    ['numbers inside text', 'a2b', 'a10b'],
    ['a shorter name first when one starts the other', 'file', 'file1'],
    ['a name before its longer extension', 'a', 'a.txt'],
    ['case folded: "apple" before "Banana"', 'apple', 'Banana'],
    ['case folded: "Apple" before "banana"', 'Apple', 'banana'],
    ['equal but for case: the raw order (upper case first)', 'File', 'file'],
    ['equal but for leading zeros: the raw order', 'file01', 'file1'],
    ['leading zeros do not change the value', 'file007', 'file8'],
    ['a digit before a letter', 'a1', 'aa'],
    ['punctuation before digits', 'a-1', 'a1'],
    ['digits before "_" and letters', 'a1', 'a_'],
    ['non-ASCII folded: "éclair" before "Étude"', 'éclair', 'Étude'],
    ['non-ASCII after ASCII letters', 'zebra', 'ünï'],
    ['the empty name first', '', 'a'],
  ];
  for (const [label, a, b] of before) {
    it(`${label}: ${JSON.stringify(a)} < ${JSON.stringify(b)}`, () => {
      expect(sign(compareNatural(a, b))).to.equal(-1);
      expect(sign(compareNatural(b, a))).to.equal(1);
    });
  }

  it('only identical names compare equal', () => {
    for (const name of ['file2', 'File', '', 'ünï cødé ☃.txt', '007']) expect(compareNatural(name, name)).to.equal(0);
    for (const [a, b] of [['a', 'A'], ['01', '1'], ['x0', 'x00']]) expect(compareNatural(a!, b!)).to.not.equal(0);
  });

  it('sorts a folder of names as a person reads them', () => {
    const names = ['file10.txt', 'File3.md', 'file2.txt', 'file1.txt', 'File01.txt', 'file20.txt', 'file100.txt', 'a.txt', 'B.txt', 'b.txt', 'z9', 'z10'];
    expect([...names].sort(compareNatural)).to.deep.equal(['a.txt', 'B.txt', 'b.txt', 'File01.txt', 'file1.txt', 'file2.txt', 'File3.md', 'file10.txt', 'file20.txt', 'file100.txt', 'z9', 'z10']);
  });

  it('is a total order: antisymmetric and transitive over a mixed set of names', () => {
    const names = ['a', 'A', 'a1', 'a01', 'a001', 'a2', 'a10', 'a-1', 'a_1', 'a.1', 'aa', 'aA', 'Aa', '1', '01', '10', '9', '', 'é', 'É', 'e', 'z', 'a1b', 'a1B', 'a10b', 'v1.9', 'v1.10', 'x 1', 'x1'];
    for (const a of names) {
      for (const b of names) {
        expect(sign(compareNatural(a, b)), `${a} vs ${b}`).to.equal(-sign(compareNatural(b, a)));
        for (const c of names) {
          if (compareNatural(a, b) < 0 && compareNatural(b, c) < 0) expect(compareNatural(a, c), `${a} < ${b} < ${c}`).to.be.lessThan(0);
        }
      }
    }
  });
});
