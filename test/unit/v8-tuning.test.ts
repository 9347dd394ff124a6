// Table tests for the V8 flag filegate sets at start: its own budget, unless the node command line gives one.

import { expect } from 'chai';
import { INLINE_BUDGET_BYTES, inlineBudgetFlag } from '../../src/v8-tuning.js';

describe('inlineBudgetFlag', () => {
  const ours = `--max-inlined-bytecode-size-cumulative=${INLINE_BUDGET_BYTES}`;
  const cases: Array<[string[], string | null]> = [
    [[], ours],
    [['--import', 'tsx'], ours],
    [['--max-old-space-size=512', '--enable-source-maps'], ours],
    [['--max-inlined-bytecode-size-cumulative=460'], null],
    [['--max_inlined_bytecode_size_cumulative=920'], null],
    [['--max-inlined_bytecode-size_cumulative=100'], null],
    // Other inlining flags are not this one.
    [['--max-inlined-bytecode-size=100'], ours],
    [['--max-inlined-bytecode-size-small=10'], ours],
  ];
  for (const [execArgv, expected] of cases) {
    it(`${JSON.stringify(execArgv)} → ${expected ?? 'none'}`, () => {
      expect(inlineBudgetFlag(execArgv)).to.equal(expected);
    });
  }
});
