// The log's standard output: lines gathered as they come and written in batches, each by a libuv thread, so the event loop never waits on the log.

import fs from 'node:fs';

/** The file calls the output makes; a test passes its own. */
export interface OutputCalls {
  write(fd: number, buffer: Buffer, callback: (error: NodeJS.ErrnoException | null, written: number) => void): void;
  writeSync(fd: number, buffer: Buffer): number;
}

const FILE_CALLS: OutputCalls = {
  write: (fd, buffer, callback) => fs.write(fd, buffer, 0, buffer.length, null, callback),
  writeSync: (fd, buffer) => fs.writeSync(fd, buffer),
};

/**
 * Says why the output stopped, on standard error, by a plain write whose
 * failure is ignored: `process.stderr` would raise an uncaught error event
 * when standard error is the same broken pipe.
 */
function tellStandardError(text: string): void {
  fs.write(2, text, () => undefined);
}

/** How long a write refused with EAGAIN (a full non-blocking pipe) waits before it is tried again. */
const RETRY_MS = 10;

/**
 * At exit, how long the last lines wait for a write already handed to a
 * thread: that write holds the lines before them, and a thread takes
 * microseconds to a few milliseconds to make it when the reader keeps up.
 */
export const EXIT_WAIT_MS = 100;

/** Blocks the thread for `ms`: only for the process's last moments, when no turn of the event loop will come. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A pino destination for a file descriptor (standard output) that writes
 * in batches: lines are kept as they come (the strings pino made, nothing
 * copied), and once `batchBytes` have gathered, or every `flushMs`, they
 * go out as one buffer in one `fs.write`. While a write is out, lines
 * gather for the next; a write cut short goes on with its rest, one
 * refused because a pipe is full is tried again shortly, and one that
 * fails otherwise (the reader gone: EPIPE) ends the output: later lines
 * are dropped, and standard error says so once (a write to it that fails
 * is ignored: the service goes on serving).
 *
 * Why not pino's own destination (sonic-boom) with `minLength`, which this
 * replaces: in its string mode it appends each line to the last pending
 * string, measuring that string's byte length on every append, and turns
 * each string it has written into a Buffer afterwards; under load about
 * 88 KB of that outlived every second young-generation collection and was
 * promoted, and old space filled twice as fast. Measured in interleaved
 * pairs at 64 connections: CPU per request 72-78 µs against 79-83,
 * promoted bytes halved, peak RSS 119-121 MiB against 125-130
 * (docs/performance.md, "Heads in one pass, batches of 64, and the log's
 * output").
 *
 * `flushSync` writes what has gathered before the process exits (it is
 * registered for that). A write already handed to a thread then is left to
 * it, but the lines after it are written only once it has had time to be
 * made (`EXIT_WAIT_MS`): written at once, they came before it now and then
 * (one exit in five, with a batch handed over just before the exit), so the
 * log's last lines were out of order. pino's own destination writes them
 * at once.
 */
export class BatchedOutput {
  private lines: string[] = [];
  /** Characters gathered: the batch's measure (log lines are mostly ASCII). */
  private gathered = 0;
  private writing = false;
  private failed = false;
  /** A flush was asked for while a write was out: what gathered goes next, however little. */
  private flushAsked = false;
  /** `flush` callbacks whose lines are still gathered... */
  private waitingForWrite: Array<() => void> = [];
  /** ...and those whose lines are in the write that is out. */
  private waitingForThisWrite: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    private readonly batchBytes: number,
    flushMs: number,
    private readonly calls: OutputCalls = FILE_CALLS,
    /** Where the one word about a failed output goes. */
    private readonly tell: (text: string) => void = tellStandardError,
    /** How `flushSync` waits; a test passes its own. */
    private readonly sleep: (ms: number) => void = sleepSync,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  write(line: string): boolean {
    if (this.failed) return true;
    this.lines.push(line);
    this.gathered += line.length;
    if (!this.writing && this.gathered >= this.batchBytes) this.writeGathered();
    return true;
  }

  /** Writes what has gathered now (after the write that is out, if one is); `done` is called once it is written, or dropped. */
  flush(done?: () => void): void {
    if (done !== undefined) this.waitingForWrite.push(done);
    if (this.writing) this.flushAsked = true;
    else this.writeGathered();
  }

  /** Writes what has gathered, synchronously: for the process's last moments. */
  flushSync(): void {
    if (this.failed || this.lines.length === 0) return;
    if (this.writing) this.sleep(EXIT_WAIT_MS);
    let rest = this.takeGathered();
    for (let attempts = 0; rest.length > 0 && attempts < 100; attempts += 1) {
      try {
        rest = rest.subarray(this.calls.writeSync(this.fd, rest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        this.sleep(RETRY_MS);
      }
    }
  }

  /** Stops the timer; what has gathered stays for `flush` or `flushSync`. */
  close(): void {
    clearInterval(this.timer);
  }

  private writeGathered(): void {
    this.flushAsked = false;
    const waiting = this.waitingForWrite;
    this.waitingForWrite = [];
    if (this.lines.length === 0 || this.failed) {
      call(waiting);
      return;
    }
    this.waitingForThisWrite = waiting;
    this.send(this.takeGathered());
  }

  private takeGathered(): Buffer {
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.gathered = 0;
    return Buffer.from(text, 'utf8');
  }

  private send(buffer: Buffer): void {
    this.writing = true;
    this.calls.write(this.fd, buffer, (error, written) => {
      if (error !== null) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.send(buffer), RETRY_MS).unref();
          return;
        }
        this.fail(error);
        return;
      }
      if (written < buffer.length) {
        this.send(buffer.subarray(written));
        return;
      }
      this.writing = false;
      const answered = this.waitingForThisWrite;
      this.waitingForThisWrite = [];
      call(answered);
      if (this.gathered >= this.batchBytes || this.flushAsked) this.writeGathered();
    });
  }

  private fail(error: NodeJS.ErrnoException): void {
    this.writing = false;
    this.failed = true;
    this.lines = [];
    this.gathered = 0;
    this.close();
    this.tell(`filegate: the log output failed (${error.code ?? error.message}); log lines are dropped from now on\n`);
    const waiting = [...this.waitingForThisWrite, ...this.waitingForWrite];
    this.waitingForThisWrite = [];
    this.waitingForWrite = [];
    call(waiting);
  }
}

function call(callbacks: ReadonlyArray<() => void>): void {
  for (const callback of callbacks) callback();
}
