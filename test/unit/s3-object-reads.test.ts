// planObjectReads: which bytes come from the held first bytes, and which ranges share one engine GET.

import { expect } from 'chai';
import type { BodyPiece } from '../../src/layers/layer.js';
import { planObjectReads, type ReadStep } from '../../src/layers/s3/object-reads.js';

const HELD = 64 * 1024;
const GAP = 64 * 1024;
const head = (text: string) => Buffer.from(text);

/** A step written short for the tables: "L:text", "H:start-end", or "F:start-end[parts]". */
function show(step: ReadStep): string {
  if (step.kind === 'literal') return `L:${step.bytes.toString()}`;
  if (step.kind === 'held') return `H:${step.start}-${step.end}`;
  const parts = step.parts.map((part) => (Buffer.isBuffer(part) ? part.toString() : `${part.start}-${part.end}`)).join(',');
  return `F:${step.span.start}-${step.span.end}[${parts}]`;
}

describe('planObjectReads', () => {
  const cases: Array<[string, BodyPiece[], number, string[]]> = [
    ['a small object held whole: no fetch', [{ start: 0, end: 999 }], 1000, ['H:0-999']],
    ['an empty body', [], HELD, []],
    ['a range inside the held bytes', [{ start: 10, end: 20 }], HELD, ['H:10-20']],
    ['a whole big object: the held start, one GET for the rest', [{ start: 0, end: 999_999 }], HELD, [`H:0-${HELD - 1}`, `F:${HELD}-999999[${HELD}-999999]`]],
    ['a range past the held bytes: one GET', [{ start: 100_000, end: 100_099 }], HELD, ['F:100000-100099[100000-100099]']],
    ['nothing held (a folder probe, an empty object): every range fetched', [{ start: 0, end: 9 }], 0, ['F:0-9[0-9]']],
    [
      'multipart: nearby ranges and the part headers between them share one GET',
      [head('h1'), { start: 100_000, end: 100_009 }, head('h2'), { start: 100_100, end: 100_199 }, head('end')],
      HELD,
      ['L:h1', 'F:100000-100199[100000-100009,h2,100100-100199]', 'L:end'],
    ],
    [
      'multipart: a range farther than the gap starts a GET of its own',
      [head('h1'), { start: 100_000, end: 100_009 }, head('h2'), { start: 100_010 + GAP + 1, end: 100_010 + GAP + 10 }],
      HELD,
      ['L:h1', 'F:100000-100009[100000-100009]', 'L:h2', `F:${100_010 + GAP + 1}-${100_010 + GAP + 10}[${100_010 + GAP + 1}-${100_010 + GAP + 10}]`],
    ],
    [
      'exactly the gap apart still merges',
      [{ start: 100_000, end: 100_009 }, { start: 100_010 + GAP, end: 100_010 + GAP }],
      HELD,
      [`F:100000-${100_010 + GAP}[100000-100009,${100_010 + GAP}-${100_010 + GAP}]`],
    ],
    [
      'a range that goes back (out of order) is fetched on its own: a span is read front to back',
      [{ start: 200_000, end: 200_009 }, head('h'), { start: 150_000, end: 150_009 }],
      HELD,
      ['F:200000-200009[200000-200009]', 'L:h', 'F:150000-150009[150000-150009]'],
    ],
    [
      'overlapping ranges are fetched apart',
      [{ start: 100_000, end: 100_099 }, { start: 100_050, end: 100_149 }],
      HELD,
      ['F:100000-100099[100000-100099]', 'F:100050-100149[100050-100149]'],
    ],
    [
      'a range across the held end: its held start sliced, the rest fetched',
      [{ start: HELD - 10, end: HELD + 9 }],
      HELD,
      [`H:${HELD - 10}-${HELD - 1}`, `F:${HELD}-${HELD + 9}[${HELD}-${HELD + 9}]`],
    ],
    [
      'held and fetched parts of one multipart body, in order',
      [head('a'), { start: 0, end: 9 }, head('b'), { start: 90_000, end: 90_009 }, head('c')],
      HELD,
      ['L:a', 'H:0-9', 'L:b', 'F:90000-90009[90000-90009]', 'L:c'],
    ],
  ];
  for (const [what, pieces, held, expected] of cases) {
    it(what, () => expect(planObjectReads(pieces, held, GAP).map(show)).to.deep.equal(expected));
  }

  it('every byte asked for is in the plan once, in order', () => {
    const pieces: BodyPiece[] = [{ start: 5, end: 70_000 }, head('x'), { start: 70_100, end: 70_200 }, { start: 500_000, end: 500_001 }];
    const covered: Array<[number, number] | string> = [];
    for (const step of planObjectReads(pieces, HELD, GAP)) {
      if (step.kind === 'literal') covered.push(step.bytes.toString());
      else if (step.kind === 'held') covered.push([step.start, step.end]);
      else for (const part of step.parts) covered.push(Buffer.isBuffer(part) ? part.toString() : [part.start, part.end]);
    }
    expect(covered).to.deep.equal([[5, HELD - 1], [HELD, 70_000], 'x', [70_100, 70_200], [500_000, 500_001]]);
  });
});
