// Decides whether an entry may be served: not-a-file, type, emptiness and size, in the SPEC's order.

import type { FileCategory } from '../config/schema.js';
import { fail } from '../errors.js';
import { quotePath } from '../paths/layer-path.js';
import { categoryOf, mediaTypeOf } from './file-types.js';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'device' | 'other';

/** What a layer or route alias lets through. */
export interface FilePolicy {
  /** Who sets the policy, for messages: 'layer "media"' or 'route "/download/video/:filename"'. */
  readonly owner: string;
  readonly maxFileSize: number;
  readonly allowEmpty: boolean;
  readonly types?: readonly FileCategory[] | undefined;
  readonly extensions?: readonly string[] | undefined;
}

/** The facts the policy is decided on, from the open descriptor's fstat. */
export interface EntryFacts {
  readonly kind: EntryKind;
  readonly size: number;
}

const KIND_WORDS: Record<EntryKind, string> = {
  file: 'a file',
  directory: 'a folder',
  symlink: 'a symlink',
  fifo: 'a named pipe',
  socket: 'a socket',
  device: 'a device',
  other: 'not a regular file',
};

/** Raises NOT_A_FILE for anything but a regular file. */
export function checkIsFile(kind: EntryKind, shown: string): void {
  if (kind !== 'file') fail('NOT_A_FILE', `${quotePath(shown)} is ${KIND_WORDS[kind]}, not a file`);
}

/** Raises NOT_A_FILE for a path that must be a folder (a listing, an archive walk) and is not one. */
export function checkIsFolder(kind: EntryKind, shown: string): void {
  if (kind !== 'directory') fail('NOT_A_FILE', `${quotePath(shown)} is ${KIND_WORDS[kind]}, not a folder`);
}

/** True when a file name passes the policy's `types` or `extensions`; neither means any type. */
export function isTypeAllowed(name: string, policy: FilePolicy): boolean {
  if (policy.extensions) {
    const lower = name.toLowerCase();
    return policy.extensions.some((extension) => lower.endsWith(extension.toLowerCase()));
  }
  if (policy.types) {
    const category = categoryOf(mediaTypeOf(name));
    return category !== null && policy.types.includes(category);
  }
  return true;
}

/**
 * Runs the file checks in the SPEC's order: NOT_A_FILE, TYPE_NOT_ALLOWED,
 * FILE_EMPTY, FILE_TOO_LARGE. `names` are the requested name and, when a
 * symlink was followed, the target's name: both must pass the type rule, so
 * a link cannot dress one type up as another. (NOT_READABLE sits between
 * NOT_A_FILE and the type check; the layer raises it when opening fails.)
 */
export function checkFilePolicy(entry: EntryFacts, names: readonly string[], policy: FilePolicy, shown: string): void {
  checkIsFile(entry.kind, shown);
  const refused = names.find((name) => !isTypeAllowed(name, policy));
  if (refused !== undefined) {
    const allowed = policy.extensions ? `extensions ${policy.extensions.join(', ')}` : `types ${policy.types?.join(', ')}`;
    fail('TYPE_NOT_ALLOWED', `${quotePath(shown)} is of a type ${policy.owner} does not serve (it serves ${allowed})`);
  }
  if (entry.size === 0 && !policy.allowEmpty) fail('FILE_EMPTY', `${quotePath(shown)} is empty, and ${policy.owner} does not serve empty files`);
  if (entry.size > policy.maxFileSize) {
    let [size, limit] = [formatBytes(entry.size), formatBytes(policy.maxFileSize)];
    // Rounded alike, the two figures would not tell the reader what to change.
    if (size === limit) [size, limit] = [`${entry.size} bytes`, `${policy.maxFileSize} bytes`];
    fail('FILE_TOO_LARGE', `${quotePath(shown)} is ${size}; ${policy.owner} serves files up to ${limit}`);
  }
}

/** A byte count for people: "80 MB", "1.5 GB", "512 bytes" (binary multiples). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  // Compare after rounding, so 1,048,575 bytes is "1 MB", not "1024 KB".
  while (Math.round(value * 10) / 10 >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}
