// The order of a listing and the choice of one page of it: a total order over entries, and the best `limit` entries after a position kept in a bounded heap.

import { compareNatural } from './natural-order.js';

export const SORT_FIELDS = ['name', 'size', 'modified'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** How a listing is ordered. */
export interface ListingOrder {
  readonly sort: SortField;
  readonly order: 'asc' | 'desc';
  /** "first": every folder before every file, in both orders; "mixed": folders and files sorted together. */
  readonly dirs: 'first' | 'mixed';
}

/** Where an entry stands in a listing's order; a cursor carries the last one shown. */
export interface Position {
  readonly directory: boolean;
  /** The sort key: 0 for `name`, the size (-1 for a folder) for `size`, the modification time in ms for `modified`. */
  readonly key: number;
  readonly name: string;
}

/** The sort key of an entry under `sort`. A folder has no size, and sorts as smaller than any file, empty ones included. */
export function sortKeyOf(sort: SortField, entry: { directory: boolean; size: number; mtimeMs: number }): number {
  if (sort === 'size') return entry.directory ? -1 : entry.size;
  if (sort === 'modified') return entry.mtimeMs;
  return 0;
}

/**
 * Compares two positions: folders first (unless `dirs` is "mixed"), then the
 * sort key, then the natural name order. "desc" reverses the key and the
 * name but keeps folders first, as file browsers do. Total: names in one
 * folder are unique and `compareNatural` only returns 0 for identical names.
 */
export function comparePositions(a: Position, b: Position, order: ListingOrder): number {
  if (order.dirs === 'first' && a.directory !== b.directory) return a.directory ? -1 : 1;
  const byKey = a.key - b.key;
  const ascending = byKey !== 0 ? byKey : compareNatural(a.name, b.name);
  return order.order === 'asc' ? ascending : -ascending;
}

/**
 * Keeps the first `limit` entries after `after` (every entry when null) in
 * the listing's order, out of entries offered one by one in any order:
 * a max-heap of at most `limit` entries, so O(limit) memory and
 * O(n log limit) time for n entries offered, whatever the folder's size.
 */
export class PageSelector<T extends Position> {
  private readonly heap: T[] = [];
  /** Entries offered that lie after the position, on this page or later ones. */
  private following = 0;

  constructor(
    private readonly order: ListingOrder,
    private readonly limit: number,
    private readonly after: Position | null,
  ) {}

  /** Takes `entry` into the page when it lies after the position and before the page's current last entry. */
  offer(entry: T): void {
    if (this.after !== null && this.compare(entry, this.after) <= 0) return;
    this.following += 1;
    if (this.heap.length < this.limit) {
      this.heap.push(entry);
      this.siftUp(this.heap.length - 1);
    } else if (this.compare(entry, this.heap[0]!) < 0) {
      this.heap[0] = entry;
      this.siftDown(0);
    }
  }

  /** True when entries lie after this page: the listing goes on. */
  hasMore(): boolean {
    return this.following > this.heap.length;
  }

  /** The page, in the listing's order. */
  page(): T[] {
    return [...this.heap].sort((a, b) => this.compare(a, b));
  }

  private compare(a: Position, b: Position): number {
    return comparePositions(a, b, this.order);
  }

  // A max-heap: the entry that would leave the page first sits at the top.
  private siftUp(index: number): void {
    const { heap } = this;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.compare(heap[index]!, heap[parent]!) <= 0) return;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const { heap } = this;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let largest = index;
      if (left < heap.length && this.compare(heap[left]!, heap[largest]!) > 0) largest = left;
      if (right < heap.length && this.compare(heap[right]!, heap[largest]!) > 0) largest = right;
      if (largest === index) return;
      [heap[index], heap[largest]] = [heap[largest]!, heap[index]!];
      index = largest;
    }
  }
}
