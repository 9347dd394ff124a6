// BatchedOutput: log lines gathered and written in batches, in order, none lost to a short write, a full pipe or the process exiting; a failed output drops lines without throwing.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchedOutput, EXIT_WAIT_MS, type OutputCalls } from '../../src/log-output.js';
import { createLogger } from '../../src/logger.js';

/** File calls that record each write and leave it out until the test answers it. */
function heldCalls() {
  const writes: Array<{ text: string; answer: (error: NodeJS.ErrnoException | null, written?: number) => void }> = [];
  const syncWrites: string[] = [];
  const calls: OutputCalls = {
    write(_fd, buffer, callback) {
      writes.push({ text: buffer.toString('utf8'), answer: (error, written = buffer.length) => callback(error, error === null ? written : 0) });
    },
    writeSync(_fd, buffer) {
      syncWrites.push(buffer.toString('utf8'));
      return buffer.length;
    },
  };
  return { calls, writes, syncWrites };
}

const line = (n: number) => `{"n":${n}}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join('');
const errno = (code: string) => Object.assign(new Error(code), { code }) as NodeJS.ErrnoException;

describe('BatchedOutput', () => {
  const outputs: BatchedOutput[] = [];
  const output = (calls: OutputCalls, batchBytes = 100, flushMs = 60_000, tell?: (text: string) => void, sleep?: (ms: number) => void) => {
    const made = new BatchedOutput(1, batchBytes, flushMs, calls, tell, sleep);
    outputs.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of outputs.splice(0)) made.close();
  });

  it('writes nothing below the batch size, then everything gathered in one write once it is reached', () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 50);
    for (let n = 0; n < 5; n += 1) out.write(line(n));
    expect(writes).to.have.length(0);
    for (let n = 5; n < 7; n += 1) out.write(line(n));
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 7)]);
  });

  it('gathers lines while a write is out, and sends them in the next one, in order', () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 16);
    out.write(line(0));
    out.write(line(1));
    expect(writes).to.have.length(1);
    for (let n = 2; n < 30; n += 1) out.write(line(n));
    expect(writes).to.have.length(1);
    writes[0]!.answer(null);
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 2), lines(2, 30)]);
  });

  it('writes what is left of a short write before anything else', () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 16);
    out.write(line(0));
    out.write(line(1));
    writes[0]!.answer(null, 5);
    out.write(line(2));
    out.write(line(3));
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 2), lines(0, 2).slice(5)]);
    writes[1]!.answer(null);
    expect(writes[2]!.text).to.equal(lines(2, 4));
  });

  it('tries a write refused by a full pipe (EAGAIN) again, losing nothing', async () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 16);
    out.write(line(0));
    out.write(line(1));
    writes[0]!.answer(errno('EAGAIN'));
    out.write(line(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 2), lines(0, 2)]);
    writes[1]!.answer(null);
    out.flush();
    expect(writes[2]!.text).to.equal(line(2));
  });

  it('after a write fails otherwise (EPIPE), drops lines without throwing, says so once, and still answers flushes', async () => {
    const { calls, writes } = heldCalls();
    const said: string[] = [];
    const out = output(calls, 16, 60_000, (text) => said.push(text));
    out.write(line(0));
    out.write(line(1));
    let flushed = false;
    out.flush(() => {
      flushed = true;
    });
    writes[0]!.answer(errno('EPIPE'));
    expect(flushed).to.equal(true);
    for (let n = 2; n < 100; n += 1) expect(out.write(line(n))).to.equal(true);
    out.flushSync();
    await new Promise<void>((resolve) => out.flush(resolve));
    expect(writes).to.have.length(1);
    expect(said).to.have.length(1);
    expect(said[0]).to.match(/log output failed \(EPIPE\)/);
  });

  it('a process whose standard output and error are one broken pipe goes on running', () => {
    const logger = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/logger.ts');
    // The reader of both pipes goes away at once; the process then logs past a batch, waits for the
    // failed write's answer, and must still be alive to say so through a file.
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'filegate-log-')), 'alive');
    const script = `import { createLogger } from ${JSON.stringify(logger)};
import { writeFileSync } from 'node:fs';
const log = createLogger('info');
await new Promise((resolve) => setTimeout(resolve, 200));
for (let n = 0; n < 2000; n += 1) log.info({ n }, 'request');
await new Promise((resolve) => setTimeout(resolve, 300));
log.info('after');
await new Promise((resolve) => setTimeout(resolve, 200));
writeFileSync(${JSON.stringify(marker)}, 'yes');`;
    const child = spawnSync('bash', ['-c', `"$0" --import tsx --input-type=module -e "$1" 2>&1 | true`, process.execPath, script], { encoding: 'utf8' });
    expect(child.status).to.equal(0);
    expect(fs.readFileSync(marker, 'utf8')).to.equal('yes');
    fs.rmSync(path.dirname(marker), { recursive: true, force: true });
  });

  it('flush writes what has gathered, however little, and calls back once it is written', () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 1000);
    out.write(line(0));
    let flushed = 0;
    out.flush(() => {
      flushed += 1;
    });
    expect(writes.map((w) => w.text)).to.deep.equal([line(0)]);
    expect(flushed).to.equal(0);
    writes[0]!.answer(null);
    expect(flushed).to.equal(1);
  });

  it('a flush asked while a write is out covers the lines gathered meanwhile, and is answered after the next write', () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 10);
    out.write(line(0));
    out.write(line(1));
    out.write(line(2));
    let flushed = false;
    out.flush(() => {
      flushed = true;
    });
    writes[0]!.answer(null);
    expect(flushed).to.equal(false);
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 2), line(2)]);
    writes[1]!.answer(null);
    expect(flushed).to.equal(true);
  });

  it('a flush with nothing gathered and nothing out is answered at once', () => {
    const { calls } = heldCalls();
    let flushed = false;
    output(calls).flush(() => {
      flushed = true;
    });
    expect(flushed).to.equal(true);
  });

  it('writes what has gathered every flushMs when the batch is not reached', async () => {
    const { calls, writes } = heldCalls();
    const out = output(calls, 10_000, 20);
    out.write(line(0));
    out.write(line(1));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(writes.map((w) => w.text)).to.deep.equal([lines(0, 2)]);
  });

  it('flushSync writes what has gathered at once, synchronously', () => {
    const { calls, writes, syncWrites } = heldCalls();
    const out = output(calls, 10_000);
    out.write(line(0));
    out.write(line(1));
    out.flushSync();
    expect(writes).to.have.length(0);
    expect(syncWrites).to.deep.equal([lines(0, 2)]);
    out.flushSync();
    expect(syncWrites).to.have.length(1);
  });

  it('flushSync with a write out first gives that write time to be made, then writes the rest; with none out it does not wait', () => {
    const { calls, writes, syncWrites } = heldCalls();
    const events: string[] = [];
    const recorded: OutputCalls = {
      write: calls.write,
      writeSync(fd, buffer) {
        events.push('writeSync');
        return calls.writeSync(fd, buffer);
      },
    };
    const out = output(recorded, 16, 60_000, undefined, (ms) => events.push(`sleep ${ms}`));
    out.write(line(0));
    out.write(line(1));
    out.write(line(2));
    expect(writes).to.have.length(1);
    out.flushSync();
    expect(events).to.deep.equal([`sleep ${EXIT_WAIT_MS}`, 'writeSync']);
    expect(syncWrites).to.deep.equal([line(2)]);
    writes[0]!.answer(null);
    events.length = 0;
    out.write(line(3));
    out.flushSync();
    expect(events).to.deep.equal(['writeSync']);
  });

  it('flushSync waits between attempts refused by a full pipe (EAGAIN), and writes everything once the pipe takes it', () => {
    const events: string[] = [];
    let refusals = 2;
    const written: string[] = [];
    const calls: OutputCalls = {
      write: () => {
        throw new Error('no asynchronous write expected');
      },
      writeSync(_fd, buffer) {
        if (refusals > 0) {
          refusals -= 1;
          events.push('EAGAIN');
          throw errno('EAGAIN');
        }
        events.push('written');
        written.push(buffer.toString('utf8'));
        return buffer.length;
      },
    };
    const out = output(calls, 10_000, 60_000, undefined, (ms) => events.push(`sleep ${ms}`));
    out.write(line(0));
    out.flushSync();
    expect(events).to.deep.equal(['EAGAIN', 'sleep 10', 'EAGAIN', 'sleep 10', 'written']);
    expect(written).to.deep.equal([line(0)]);
  });

  it('through a logger to a real file: every line, in order, each whole', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'filegate-log-'));
    const file = path.join(dir, 'out.log');
    const fd = fs.openSync(file, 'w');
    try {
      const out = new BatchedOutput(fd, 4096, 100);
      outputs.push(out);
      const logger = createLogger('info', out);
      for (let n = 0; n < 20_000; n += 1) logger.info({ n, text: 'é✓'.repeat(n % 7) }, 'request');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      const written = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((text) => JSON.parse(text) as { n: number; text: string });
      expect(written.map((entry) => entry.n)).to.deep.equal([...Array(20_000).keys()]);
      expect(written[13]!.text).to.equal('é✓'.repeat(6));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('standard output: the lines gathered when the process exits are written', () => {
    const logger = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/logger.ts');
    const script = `import { createLogger } from ${JSON.stringify(logger)};
const log = createLogger('info');
for (let n = 0; n < 500; n += 1) log.info({ n }, 'request');
process.exit(0);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const numbers = out.trimEnd().split('\n').map((text) => (JSON.parse(text) as { n: number }).n);
    expect(numbers).to.deep.equal([...Array(500).keys()]);
  });
});
