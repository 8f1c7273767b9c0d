/**
 * A least-recently-used map bounded in bytes, whose entries may expire and carry tags (the block hashes they
 * depend on) so that a reorg evicts everything that belonged to an orphaned block. No I/O: the caller passes the time.
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
  /** Bytes held now (never above the bound). */
  bytes(): number;
  size(): number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number | undefined;
  tags: readonly string[];
}

export function createByteLru<V>(maxBytes: number): ByteLru<V> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer`);
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, Entry<V>>();
  const byTag = new Map<string, Set<string>>();
  let held = 0;

  function remove(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
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
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, { bytes, expiresAt, tags = [] }) {
      remove(key);
      // An entry larger than the whole cache is not kept: it would evict everything and then itself.
      if (bytes > maxBytes) return;
      while (held + bytes > maxBytes) remove(entries.keys().next().value!);
      entries.set(key, { value, bytes, expiresAt, tags });
      held += bytes;
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
    bytes: () => held,
    size: () => entries.size,
  };
}
