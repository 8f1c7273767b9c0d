/** A tiny insertion-ordered cache of settled lookups (shared while pending); failures are not kept. */
export function boundedCache<V>(max: number) {
  const entries = new Map<string, Promise<V>>();
  return {
    get(key: string, load: () => Promise<V>, keep: (v: V) => boolean): Promise<V> {
      const hit = entries.get(key);
      if (hit) return hit;
      const pending = load();
      entries.set(key, pending);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
      void pending.then(
        (v) => {
          if (!keep(v) && entries.get(key) === pending) entries.delete(key);
        },
        () => entries.get(key) === pending && entries.delete(key),
      );
      return pending;
    },
    delete: (key: string) => entries.delete(key),
    /** Whether a lookup of `key` is kept or under way. */
    has: (key: string) => entries.has(key),
  };
}
