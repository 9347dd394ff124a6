// Things in flight (open responses, open connections) held in array slots, so that each is forgotten the moment it ends.

/**
 * Items held in the slots of an array, each added and removed by its slot
 * number, which the caller keeps (on the item's own state).
 *
 * Not a Set or a Map, for what a long-lived one does in V8 when it gains and
 * loses an entry per request or per connection: inserts and deletes fill its
 * table until it is rebuilt, and each old table stays linked to the new one
 * (for iterators still running over it) with the entries it held. Once one
 * of those tables has been promoted to the old generation, the young
 * collector treats the whole chain, and every request its entries point
 * to, as alive, and promotes them too, until the next full collection.
 * Under load that promoted about 1.5 MB of finished requests in every
 * young collection (docs/performance.md, "A Set that kept finished requests
 * alive"). A slot is overwritten in place, and a table of slots only grows
 * when more items are held at once than ever before.
 */
export class Slots<T> {
  private readonly items: (T | undefined)[] = [];
  /** Slots emptied by `remove`, reused before the array grows. */
  private readonly free: number[] = [];
  private held = 0;

  /** Holds `item`; returns the slot to `remove` it by. */
  add(item: T): number {
    const slot = this.free.pop() ?? this.items.length;
    this.items[slot] = item;
    this.held += 1;
    return slot;
  }

  /** Lets go of the item in `slot`; an empty slot is left as it is. */
  remove(slot: number): void {
    if (this.items[slot] === undefined) return;
    this.items[slot] = undefined;
    this.free.push(slot);
    this.held -= 1;
  }

  /** How many items are held. */
  get size(): number {
    return this.held;
  }

  /** The items held, in slot order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const item of this.items) if (item !== undefined) yield item;
  }
}
