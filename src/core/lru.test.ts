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
