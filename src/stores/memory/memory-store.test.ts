import assert from "node:assert/strict";
import { test } from "node:test";
import { STORE_MAX_ENTRIES } from "../../core/store.ts";
import { describeStoreContract, lastKnownGoodFixture } from "../store-contract.ts";
import { createMemoryStore } from "./memory-store.ts";

describeStoreContract("memory", { open: async (limits) => createMemoryStore(limits) });

test("memory store: the default bound is STORE_MAX_ENTRIES, and eviction stays cheap at that size", async () => {
  const store = createMemoryStore();
  const started = performance.now();
  for (let i = 0; i <= STORE_MAX_ENTRIES; i++) {
    await store.putLastKnownGood(lastKnownGoodFixture({ key: `k${i}`, recordedAt: i }));
  }
  const elapsedMs = performance.now() - started;
  assert.equal(await store.getLastKnownGood(31337, "k0"), undefined);
  assert.ok(await store.getLastKnownGood(31337, "k1"));
  assert.ok(await store.getLastKnownGood(31337, `k${STORE_MAX_ENTRIES}`));
  // A linear eviction scan would make this quadratic (minutes); constant-time eviction keeps it well under this.
  assert.ok(elapsedMs < 10_000, `100k puts took ${elapsedMs.toFixed(0)} ms`);
  await store.close();
});
