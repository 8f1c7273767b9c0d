import assert from "node:assert/strict";
import { test } from "node:test";
import { methodSpec } from "./methods.ts";
import {
  asksForHead,
  blockAgeSeconds,
  isStale,
  STALE_AFTER_BLOCK_TIMES,
  STALE_AFTER_MIN_MS,
  staleAfterMs,
} from "./staleness.ts";

test("the bound comes from the preset's block time, at least the minimum; the config overrides it", () => {
  assert.equal(staleAfterMs(1), STALE_AFTER_BLOCK_TIMES * 12_000);
  assert.equal(staleAfterMs(1), 60_000);
  // A chain Multihome has no preset for: Ethereum's slot.
  assert.equal(staleAfterMs(424242), 60_000);
  assert.equal(staleAfterMs(1, 5_000), 5_000);
  // A dev chain mines on demand: no bound unless configured.
  assert.equal(staleAfterMs(31337), undefined);
  assert.equal(staleAfterMs(31337, 45_000), 45_000);
  assert.ok(STALE_AFTER_MIN_MS <= 60_000);
});

test("age is measured from the block's own timestamp to the clock, never negative", () => {
  const now = 1_800_000_000_000;
  assert.equal(blockAgeSeconds(1_800_000_000 - 90, now), 90);
  assert.equal(blockAgeSeconds(1_800_000_000 - 90, now + 999), 90);
  assert.equal(blockAgeSeconds(1_800_000_000 + 30, now), 0, "a block stamped ahead of the clock is not old");
  assert.equal(isStale(1_800_000_000 - 60, now, 60_000), false, "at the bound: not yet");
  assert.equal(isStale(1_800_000_000 - 61, now, 60_000), true);
  assert.equal(isStale(0, now, undefined), false, "no bound: never stale");
});

test("only calls about the newest block can be stale", () => {
  const spec = (m: string) => methodSpec(m)!;
  const ADDR = "0x00000000000000000000000000000000000000aa";
  assert.equal(asksForHead("eth_blockNumber", spec("eth_blockNumber"), []), true);
  assert.equal(asksForHead("eth_getBalance", spec("eth_getBalance"), [ADDR]), true);
  assert.equal(asksForHead("eth_getBalance", spec("eth_getBalance"), [ADDR, "latest"]), true);
  assert.equal(asksForHead("eth_getBalance", spec("eth_getBalance"), [ADDR, "0x10"]), false);
  assert.equal(asksForHead("eth_getBalance", spec("eth_getBalance"), [ADDR, "finalized"]), false);
  assert.equal(
    asksForHead("eth_getBalance", spec("eth_getBalance"), [ADDR, { blockHash: `0x${"1".repeat(64)}` }]),
    false,
  );
  assert.equal(asksForHead("eth_call", spec("eth_call"), [{ to: ADDR }, "latest"]), true);
  assert.equal(asksForHead("eth_getBlockByNumber", spec("eth_getBlockByNumber"), ["latest", false]), true);
  assert.equal(asksForHead("eth_getBlockByNumber", spec("eth_getBlockByNumber"), ["0x1", false]), false);
  assert.equal(asksForHead("eth_getLogs", spec("eth_getLogs"), [{ fromBlock: "0x1" }]), true);
  assert.equal(asksForHead("eth_getLogs", spec("eth_getLogs"), [{ fromBlock: "0x1", toBlock: "0x2" }]), false);
  assert.equal(asksForHead("eth_getLogs", spec("eth_getLogs"), [{ blockHash: `0x${"1".repeat(64)}` }]), false);
  // No block parameter: by hash, fees, writes.
  assert.equal(asksForHead("eth_getTransactionReceipt", spec("eth_getTransactionReceipt"), ["0x"]), false);
  assert.equal(asksForHead("eth_gasPrice", spec("eth_gasPrice"), []), false);
  assert.equal(asksForHead("eth_sendRawTransaction", spec("eth_sendRawTransaction"), ["0x00"]), false);
});
