// Decides which engine reads a response body needs: bytes already held, and ranges fetched one GET per span, nearby ranges merged.

import type { BodyPiece, ByteRange } from '../layer.js';

/** One step of writing a body from an object, in order. */
export type ReadStep =
  /** Literal bytes of the body (a multipart part's headers). */
  | { readonly kind: 'literal'; readonly bytes: Buffer }
  /** Bytes of the object already held (the first bytes, fetched with the checks). */
  | { readonly kind: 'held'; readonly start: number; readonly end: number }
  /**
   * One GET of `span`, whose bytes give `parts` in order: ranges inside the
   * span, ascending and apart, with the literal pieces between them; the
   * bytes between two ranges are read and dropped.
   */
  | { readonly kind: 'fetch'; readonly span: ByteRange; readonly parts: readonly BodyPiece[] };

/**
 * The steps that write `pieces` from an object whose first `held` bytes are
 * already in memory: a range (or its start) inside them is sliced from there,
 * the rest is fetched. A range that starts at most `mergeGap` bytes after the
 * previous fetched one ends joins its GET (an engine serves one range per
 * GET, and a round trip costs more than a few KiB read and dropped); one that
 * goes back or overlaps starts a GET of its own, since a span is read once,
 * front to back.
 */
export function planObjectReads(pieces: readonly BodyPiece[], held: number, mergeGap: number): ReadStep[] {
  const steps: ReadStep[] = [];
  let index = 0;
  while (index < pieces.length) {
    const piece = pieces[index]!;
    if (Buffer.isBuffer(piece)) {
      steps.push({ kind: 'literal', bytes: piece });
      index += 1;
      continue;
    }
    let start = piece.start;
    if (start < held) {
      steps.push({ kind: 'held', start, end: Math.min(piece.end, held - 1) });
      if (piece.end < held) {
        index += 1;
        continue;
      }
      start = held;
    }
    const parts: BodyPiece[] = [{ start, end: piece.end }];
    let end = piece.end;
    let last = index;
    const between: Buffer[] = [];
    for (let next = index + 1; next < pieces.length; next += 1) {
      const candidate = pieces[next]!;
      if (Buffer.isBuffer(candidate)) {
        between.push(candidate);
        continue;
      }
      if (candidate.start <= end || candidate.start - end - 1 > mergeGap) break;
      parts.push(...between.splice(0), candidate);
      end = candidate.end;
      last = next;
    }
    steps.push({ kind: 'fetch', span: { start, end }, parts });
    // Literal pieces after the last merged range are steps of their own.
    index = last + 1;
  }
  return steps;
}
