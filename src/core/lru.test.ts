import assert from "node:assert/strict";
import { test } from "node:test";
import { createByteLru } from "./lru.ts";

test("the byte bound holds: least recently used go first", () => {
  const lru = createByteLru<string>(100);
  lru.set("a", "A", { bytes: 40 });
  lru.set("b", "B", { bytes: 40 });
  assert.equal(lru.get("a", 0), "A"); // a is now the most recent
  lru.set("c", "C", { bytes: 40 });
  assert.equal(lru.get("b", 0), undefined, "b was least recently used");
  assert.equal(lru.get("a", 0), "A");
  assert.equal(lru.get("c", 0), "C");
  assert.equal(lru.bytes(), 80);
  // Larger than the whole cache: not kept, and nothing else is evicted for it.
  lru.set("huge", "H", { bytes: 101 });
  assert.equal(lru.get("huge", 0), undefined);
  assert.equal(lru.size(), 2);
  // Replacing a key frees its old bytes.
  lru.set("a", "A2", { bytes: 10 });
  assert.equal(lru.bytes(), 50);
});

test("entries expire, and a tag evicts every entry carrying it", () => {
  const lru = createByteLru<number>(1_000);
  lru.set("x", 1, { bytes: 10, expiresAt: 100, tags: ["0xaa"] });
  lru.set("y", 2, { bytes: 10, tags: ["0xaa", "0xbb"] });
  lru.set("z", 3, { bytes: 10, tags: ["0xbb"] });
  assert.equal(lru.get("x", 99), 1);
  assert.equal(lru.get("x", 100), undefined, "expired");
  assert.equal(lru.evictTag("0xaa"), 1, "x already gone; y evicted");
  assert.equal(lru.get("y", 0), undefined);
  assert.equal(lru.get("z", 0), 3);
  assert.equal(lru.evictTag("0xbb"), 1);
  assert.equal(lru.bytes(), 0);
  assert.equal(lru.evictTag("0xcc"), 0);
});

test("a random workload never exceeds the bound and keeps its accounting exact", () => {
  const lru = createByteLru<number>(5_000);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 20_000; i++) {
    const key = `k${Math.floor(rand() * 500)}`;
    const r = rand();
    if (r < 0.6) lru.set(key, i, { bytes: 1 + Math.floor(rand() * 200), tags: [`t${Math.floor(rand() * 20)}`] });
    else if (r < 0.9) lru.get(key, i);
    else lru.evictTag(`t${Math.floor(rand() * 20)}`);
    assert.ok(lru.bytes() <= 5_000);
  }
});

test("prune drops expired entries soonest first, a bounded number per call, and skips what was replaced", () => {
  const lru = createByteLru<number>(10_000);
  for (let i = 0; i < 100; i++) lru.set(`k${i}`, i, { bytes: 10, expiresAt: 1_000 + ((i * 37) % 100) });
  lru.set("forever", -1, { bytes: 10 });
  // Replaced with a later expiry: its first heap node is skipped, the entry stays until its own time.
  lru.set("k0", 0, { bytes: 10, expiresAt: 5_000 });
  assert.equal(lru.prune(999, 1_000), 0, "nothing expired yet");
  // Ten looked at: k0's first node (expiring at 1000, replaced since) and the nine that expire next.
  assert.equal(lru.prune(1_049, 10), 9);
  assert.equal(lru.size(), 92);
  assert.equal(lru.get("k73", 0), undefined, "k73 expired at 1001: among the first");
  assert.equal(lru.get("k0", 0), 0);
  assert.equal(lru.prune(1_049, 1_000), 40);
  assert.equal(lru.prune(2_000, 1_000), 50);
  assert.deepEqual([lru.size(), lru.bytes()], [2, 20]);
  assert.equal(lru.get("k0", 4_999), 0);
  assert.equal(lru.get("forever", 1e12), -1);
  assert.equal(lru.prune(5_000, 1_000), 1);
  assert.deepEqual([lru.size(), lru.bytes()], [1, 10]);
});

test("under ever new keys with a lifetime, pruning keeps only what has not expired", () => {
  const lru = createByteLru<number>(1_000_000);
  const ttl = 2_000;
  for (let now = 0; now < 60_000; now++) {
    lru.set(`key ${now}`, now, { bytes: 100, expiresAt: now + ttl });
    lru.prune(now, 4);
    // Only what was set within one lifetime is held, far below what the byte bound alone would keep.
    assert.ok(lru.size() <= ttl + 1, `${lru.size()} entries held at ${now}`);
  }
});

test("recency matches a reference LRU under a random workload", () => {
  const lru = createByteLru<number>(1_000);
  // The reference: an insertion-ordered Map re-inserted on every hit, evicting from its front.
  const ref = new Map<string, { value: number; bytes: number }>();
  let refBytes = 0;
  const refRemove = (key: string) => {
    const e = ref.get(key);
    if (!e) return;
    ref.delete(key);
    refBytes -= e.bytes;
  };
  let seed = 11;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 20_000; i++) {
    const key = `k${Math.floor(rand() * 60)}`;
    const r = rand();
    if (r < 0.4) {
      const bytes = 1 + Math.floor(rand() * 100);
      lru.set(key, i, { bytes });
      refRemove(key);
      while (refBytes + bytes > 1_000) refRemove(ref.keys().next().value!);
      ref.set(key, { value: i, bytes });
      refBytes += bytes;
    } else if (r < 0.95) {
      const e = ref.get(key);
      if (e) {
        ref.delete(key);
        ref.set(key, e);
      }
      assert.equal(lru.get(key, 0), e?.value);
    } else {
      lru.delete(key);
      refRemove(key);
    }
    assert.equal(lru.bytes(), refBytes);
    assert.equal(lru.size(), ref.size);
  }
});

test("a hit costs no more in a cache grown large by distinct keys", () => {
  const lru = createByteLru<number>(1e9);
  for (let i = 0; i < 100_000; i++) lru.set(`distinct key ${i}`, i, { bytes: 100 });
  const started = performance.now();
  // 200,000 hits on one key: with the map re-inserted on each hit this took ~30 s on the bench machine.
  for (let i = 0; i < 200_000; i++) lru.get(i % 2 ? "distinct key 0" : "distinct key 1", 0);
  const ms = performance.now() - started;
  assert.ok(ms < 2_000, `200,000 hits took ${ms.toFixed(0)} ms`);
});
