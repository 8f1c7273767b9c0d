/**
 * A least-recently-used map bounded in bytes, whose entries may expire and carry tags (the block hashes they
 * depend on) so that a reorg evicts everything that belonged to an orphaned block. No I/O: the caller passes the time.
 *
 * Recency is a doubly linked list through the entries: a hit relinks its entry at the newest end and leaves the map
 * untouched. (Deleting and re-inserting a key on every hit, the shortcut of an insertion-ordered Map, makes V8 chain
 * the deleted copies of a hot key in its bucket until the table is rehashed, so each hit walks a chain that grows with
 * the table's free space: in a cache grown large by varied traffic, a hit cost ~150 µs instead of ~0.1 µs.)
 *
 * An expired entry is dropped when it is asked for, and otherwise by `prune`, soonest expiry first (a heap of the
 * entries that expire): an answer kept for seconds does not stay in memory until the byte bound pushes it out, which
 * under varied traffic (every request a new key) would hold the whole bound in answers nobody may be served.
 */

export interface LruEntryOptions {
  /** What the entry costs against the bound (key and value, as the caller measures them). */
  bytes: number;
  /** ms since epoch after which the entry is gone; undefined: until evicted. */
  expiresAt?: number;
  tags?: readonly string[];
}

export interface ByteLru<V> {
  get(key: string, now: number): V | undefined;
  set(key: string, value: V, options: LruEntryOptions): void;
  delete(key: string): void;
  /** Drops every entry carrying `tag`; returns how many. */
  evictTag(tag: string): number;
  /**
   * Drops entries that expired by `now`, soonest expiry first, looking at no more than `max` (so one call's work is
   * bounded); returns how many it dropped.
   */
  prune(now: number, max: number): number;
  /** Bytes held now (never above the bound). */
  bytes(): number;
  size(): number;
}

interface Entry<V> {
  key: string;
  value: V;
  bytes: number;
  expiresAt: number | undefined;
  tags: readonly string[];
  /** Neighbours in recency order: `older` towards the least recently used. */
  older: Entry<V> | undefined;
  newer: Entry<V> | undefined;
}

export function createByteLru<V>(maxBytes: number): ByteLru<V> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer`);
  const entries = new Map<string, Entry<V>>();
  /** The least and the most recently used entries: the ends of the recency list. */
  let oldest: Entry<V> | undefined;
  let newest: Entry<V> | undefined;
  const byTag = new Map<string, Set<string>>();
  /**
   * Entries with an expiry, as a binary min-heap on `expiresAt`. An entry removed or replaced before it expires stays
   * in the heap until its time comes (it is then skipped): the heap holds at most what was set within one lifetime,
   * plus what `prune` has not reached yet.
   */
  const expiring: Entry<V>[] = [];
  let held = 0;

  const at = (i: number) => expiring[i]!.expiresAt!;
  function pushExpiring(entry: Entry<V>): void {
    let i = expiring.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at(parent) <= at(i)) break;
      [expiring[parent], expiring[i]] = [expiring[i]!, expiring[parent]!];
      i = parent;
    }
  }
  function popExpiring(): Entry<V> {
    const top = expiring[0]!;
    const last = expiring.pop()!;
    if (expiring.length > 0) {
      expiring[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < expiring.length && at(l) < at(min)) min = l;
        if (r < expiring.length && at(r) < at(min)) min = r;
        if (min === i) break;
        [expiring[min], expiring[i]] = [expiring[i]!, expiring[min]!];
        i = min;
      }
    }
    return top;
  }

  function unlink(entry: Entry<V>): void {
    if (entry.older) entry.older.newer = entry.newer;
    else oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else newest = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
  function linkNewest(entry: Entry<V>): void {
    entry.older = newest;
    if (newest) newest.newer = entry;
    else oldest = entry;
    newest = entry;
  }

  function remove(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    unlink(entry);
    held -= entry.bytes;
    for (const tag of entry.tags) {
      const keys = byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) byTag.delete(tag);
    }
  }

  return {
    get(key, now) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
        remove(key);
        return undefined;
      }
      if (entry !== newest) {
        unlink(entry);
        linkNewest(entry);
      }
      return entry.value;
    },
    set(key, value, { bytes, expiresAt, tags = [] }) {
      remove(key);
      // An entry larger than the whole cache is not kept: it would evict everything and then itself.
      if (bytes > maxBytes) return;
      while (held + bytes > maxBytes) remove(oldest!.key);
      const entry: Entry<V> = { key, value, bytes, expiresAt, tags, older: undefined, newer: undefined };
      entries.set(key, entry);
      linkNewest(entry);
      held += bytes;
      if (expiresAt !== undefined) pushExpiring(entry);
      for (const tag of tags) {
        const keys = byTag.get(tag) ?? new Set<string>();
        byTag.set(tag, keys);
        keys.add(key);
      }
    },
    delete: remove,
    evictTag(tag) {
      const keys = byTag.get(tag);
      if (!keys) return 0;
      const count = keys.size;
      for (const key of [...keys]) remove(key);
      return count;
    },
    prune(now, max) {
      let dropped = 0;
      for (let looked = 0; looked < max && expiring.length > 0 && at(0) <= now; looked++) {
        const entry = popExpiring();
        // Removed or replaced meanwhile: its node was all that was left of it.
        if (entries.get(entry.key) !== entry) continue;
        remove(entry.key);
        dropped++;
      }
      return dropped;
    },
    bytes: () => held,
    size: () => entries.size,
  };
}
