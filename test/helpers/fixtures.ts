// Builds fixture trees in temp folders, in code.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  readonly dir: string;
  /** Writes a file (making its folders); returns its absolute path. */
  file(relative: string, content?: string | Buffer): string;
  folder(relative: string): string;
  symlink(relative: string, target: string): string;
  fifo(relative: string): string;
  remove(): void;
}

/** A fresh folder under the system temp dir. */
export function tempDir(prefix = 'filegate-test-'): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const at = (relative: string) => path.join(dir, relative);
  return {
    dir,
    file(relative, content = 'content\n') {
      mkdirSync(path.dirname(at(relative)), { recursive: true });
      writeFileSync(at(relative), content);
      return at(relative);
    },
    folder(relative) {
      mkdirSync(at(relative), { recursive: true });
      return at(relative);
    },
    symlink(relative, target) {
      mkdirSync(path.dirname(at(relative)), { recursive: true });
      symlinkSync(target, at(relative));
      return at(relative);
    },
    fifo(relative) {
      mkdirSync(path.dirname(at(relative)), { recursive: true });
      execFileSync('mkfifo', [at(relative)]);
      return at(relative);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** How many of this process's descriptors are open on `file` (the in-process server's included). */
export function descriptorsOn(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count += 1;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return count;
}
