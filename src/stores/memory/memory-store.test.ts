import assert from "node:assert/strict";
import { test } from "node:test";
import { OUTBOX_MAX_ENTRIES, STORE_MAX_ENTRIES } from "../../core/store.ts";
import { describeSolanaSendContract, solanaSendFixture } from "../solana-send-contract.ts";
import { describeStoreContract, lastKnownGoodFixture, outboxFixture } from "../store-contract.ts";
import { createMemoryStore } from "./memory-store.ts";

describeStoreContract("memory", { open: async (limits) => createMemoryStore(limits) });
describeSolanaSendContract("memory", { open: async (limits) => createMemoryStore(limits) });

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

test("memory store: the outbox bound defaults to OUTBOX_MAX_ENTRIES; with every entry pending the oldest goes", async () => {
  const store = createMemoryStore();
  for (let n = 1; n <= OUTBOX_MAX_ENTRIES + 1; n++) await store.putOutbox(outboxFixture(n));
  assert.equal(await store.getOutbox(31337, outboxFixture(1).hash), undefined);
  assert.deepEqual(await store.getOutbox(31337, outboxFixture(2).hash), outboxFixture(2));
  const pending = await store.listPendingOutbox(31337, OUTBOX_MAX_ENTRIES + 10);
  assert.equal(pending.length, OUTBOX_MAX_ENTRIES);
  assert.equal(pending[0]?.nonce, 2);
  await store.close();
});

test("memory store: Solana sends are bounded by OUTBOX_MAX_ENTRIES too; with every record pending the oldest goes", async () => {
  const store = createMemoryStore();
  for (let n = 1; n <= OUTBOX_MAX_ENTRIES + 1; n++) await store.putSolanaSend(solanaSendFixture(n));
  assert.equal(await store.getSolanaSend("devnet", solanaSendFixture(1).signature), undefined);
  assert.deepEqual(await store.getSolanaSend("devnet", solanaSendFixture(2).signature), solanaSendFixture(2));
  const pending = await store.listPendingSolanaSends("devnet", OUTBOX_MAX_ENTRIES + 10);
  assert.equal(pending.length, OUTBOX_MAX_ENTRIES);
  assert.deepEqual(pending[0], solanaSendFixture(2));
  await store.close();
});
