// The system calls a local layer makes, either inline on the event loop or on libuv's thread pool.

import fs from 'node:fs';
import { promisify } from 'node:util';

/** The descriptor operations the "os" driver needs; every failure is a rejected promise with the errno code. */
export interface FileIo {
  open(path: string, flags: number): Promise<number>;
  fstat(fd: number): Promise<fs.Stats>;
  readlink(path: string): Promise<string>;
  /** Reads exactly `length` bytes at `position` unless the file ends first; returns the count read. */
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(fd: number): void;
}

/**
 * Calls made directly on the event loop, as nginx makes them with `aio off`:
 * on a local disk with a warm page cache each takes microseconds, far less
 * than the two thread hand-offs a thread-pool call costs. Opening is
 * non-blocking, so a FIFO cannot stall the loop either.
 */
export const inlineIo: FileIo = {
  open: async (path, flags) => fs.openSync(path, flags),
  fstat: async (fd) => fs.fstatSync(fd),
  readlink: async (path) => fs.readlinkSync(path),
  read: async (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  close: (fd) => fs.closeSync(fd),
};

const openAsync = promisify(fs.open);
const fstatAsync = promisify(fs.fstat);
const readlinkAsync = promisify(fs.readlink);
const readAsync = promisify(fs.read);

/** Calls made on libuv's thread pool, for file systems whose calls may stall (NFS, FUSE, cold spinning disks). */
export const threadPoolIo: FileIo = {
  open: (path, flags) => openAsync(path, flags),
  fstat: (fd) => fstatAsync(fd),
  readlink: (path) => readlinkAsync(path),
  read: async (fd, buffer, offset, length, position) => (await readAsync(fd, buffer, offset, length, position)).bytesRead,
  close: (fd) => fs.close(fd, () => {}),
};
