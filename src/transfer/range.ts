// Parses a Range header against a file size (RFC 9110 §14): the whole file, some ranges, or none satisfiable.

import type { ByteRange } from '../layers/layer.js';

export type RangeDecision =
  /** Send the whole file: no Range, a malformed one, another unit, too many ranges, or an empty file. */
  | { readonly kind: 'full' }
  /** Send these ranges, sorted and coalesced; one range means a single-part 206. */
  | { readonly kind: 'partial'; readonly ranges: readonly ByteRange[] }
  /** No range overlaps the file: 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeDecision = { kind: 'full' };
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' };
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Decides what a Range header asks of a file of `size` bytes. Following RFC
 * 9110 §14.1-14.2 and the behaviour of Go's `http.ServeContent` and nginx:
 * - only the `bytes` unit is understood; any other unit, and any syntax error
 *   anywhere in the header, means the header is ignored (the whole file);
 * - `first-last` is clamped to the file, `first-` runs to the end, `-n` is the
 *   last n bytes (the whole file when n exceeds it);
 * - specs that start past the end are dropped; when none is left the answer is 416;
 * - more than `maxRanges` specs, or ranges adding up to more than the file,
 *   mean the whole file (a cheap answer to a request built to be expensive);
 * - overlapping and adjacent ranges are coalesced (§14.6), and the parts keep
 *   the order of the specs that asked for them (§15.3.7.2).
 * An empty file has no byte to range over, so it is always sent whole.
 */
export function decideRange(header: string | undefined, size: number, maxRanges: number): RangeDecision {
  if (header === undefined || size === 0) return FULL;
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return FULL;
  const list = header.slice(equals + 1);
  // A list may hold empty elements, which are ignored (RFC 9110 §5.6.1). One spec, the usual case, needs no split.
  const specs = (list.includes(',') ? list.split(',') : [list]).map((spec) => spec.trim()).filter((spec) => spec !== '');
  if (specs.length === 0 || specs.length > maxRanges) return FULL;

  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const match = SPEC.exec(spec);
    if (!match || (match[1] === '' && match[2] === '')) return FULL;
    const [, first, last] = match as unknown as [string, string, string];
    if (first === '') {
      const suffix = Number(last);
      if (suffix > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    if (last !== '' && Number(last) < start) return FULL;
    if (start >= size) continue;
    ranges.push({ start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) });
  }
  if (ranges.length === 0) return UNSATISFIABLE;
  const requested = ranges.reduce((sum, range) => sum + (range.end - range.start + 1), 0);
  if (requested > size) return FULL;
  // A single range has nothing to coalesce with.
  return { kind: 'partial', ranges: ranges.length === 1 ? ranges : coalesce(ranges) };
}

/**
 * Merges ranges that overlap or touch, and returns the merged ranges in the
 * order of the earliest range that went into each (RFC 9110 §15.3.7.2: parts
 * in the order asked, except those coalesced into others).
 */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.map((range, order) => ({ ...range, order })).sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number; order: number }> = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end + 1) {
      last.end = Math.max(last.end, range.end);
      last.order = Math.min(last.order, range.order);
    } else {
      merged.push({ ...range });
    }
  }
  return merged.sort((a, b) => a.order - b.order).map(({ start, end }) => ({ start, end }));
}
