import assert from "node:assert/strict";
import { test } from "node:test";
import { type CacheView, cacheSlot, canonicalJson, keepAnswer } from "./cache-policy.ts";
import { methodSpec, pinBlock } from "./methods.ts";

const HEAD = 1_000;
const ADDR = "0x00000000000000000000000000000000000000aa";
const HASH_990 = `0x${"99".repeat(32)}`;
const view: CacheView = {
  head: HEAD,
  finalized: HEAD - 64,
  hashAt: (n) => (n === 990 ? HASH_990 : undefined),
  unfinalizedTtlMs: 2_000,
};

function slotOf(method: string, params: unknown[]) {
  const spec = methodSpec(method)!;
  const pin = pinBlock(spec, params, HEAD);
  assert.ok(pin.ok);
  return { spec, slot: cacheSlot(method, spec, pin.pinned, view) };
}

test("final data is kept until evicted; recent data is keyed by its block's hash and kept briefly", () => {
  const final = slotOf("eth_getBalance", [ADDR, "0x64"]).slot!;
  assert.equal(final.ttlMs, undefined);
  assert.deepEqual(final.tags, []);
  const recent = slotOf("eth_getBalance", [ADDR, `0x${(990).toString(16)}`]).slot!;
  assert.equal(recent.ttlMs, 2_000);
  assert.deepEqual(recent.tags, [HASH_990]);
  assert.ok(recent.key.endsWith(`@${HASH_990}`));
  // A recent block without an agreed hash, a block above the head, a tag that cannot be pinned: not cached.
  assert.equal(slotOf("eth_getBalance", [ADDR, `0x${(991).toString(16)}`]).slot, undefined);
  assert.equal(slotOf("eth_getBalance", [ADDR, `0x${(1_001).toString(16)}`]).slot, undefined);
  assert.equal(slotOf("eth_getBalance", [ADDR, "pending"]).slot, undefined);
  assert.equal(slotOf("eth_getLogs", [{ fromBlock: "safe", toBlock: "0x64" }]).slot, undefined);
  // Volatile and write methods never.
  assert.equal(slotOf("eth_gasPrice", []).slot, undefined);
  assert.equal(slotOf("eth_sendRawTransaction", ["0x00"]).slot, undefined);
});

test("`latest` is keyed by the block it was pinned to, so the next block is a new key", () => {
  const atHead: CacheView = { ...view, hashAt: (n) => `0x${n.toString(16).padStart(64, "0")}` };
  const spec = methodSpec("eth_getBalance")!;
  const a = pinBlock(spec, [ADDR, "latest"], HEAD);
  const b = pinBlock(spec, [ADDR, "latest"], HEAD + 1);
  assert.ok(a.ok && b.ok);
  const ka = cacheSlot("eth_getBalance", spec, a.pinned, atHead)!.key;
  const kb = cacheSlot("eth_getBalance", spec, b.pinned, { ...atHead, head: HEAD + 1 })!.key;
  assert.notEqual(ka, kb);
});

test("answers addressed by hash carry the hash as a tag", () => {
  const hash = `0x${"ab".repeat(32)}`;
  const { slot } = slotOf("eth_getBlockByHash", [hash, false]);
  assert.deepEqual(slot!.tags, [hash]);
  assert.equal(slot!.ttlMs, undefined);
  assert.deepEqual(slotOf("eth_getLogs", [{ blockHash: hash }]).slot!.tags, [hash]);
});

test("what is kept: never null, never unverified; receipts are tagged with their block", () => {
  const { spec, slot } = slotOf("eth_getTransactionReceipt", [`0x${"cd".repeat(32)}`]);
  assert.equal(keepAnswer(spec, slot!, null, "verified", view), undefined);
  const receipt = { blockHash: HASH_990, blockNumber: `0x${(990).toString(16)}` };
  assert.equal(keepAnswer(spec, slot!, receipt, "short", view), undefined, "not verified as the policy asks");
  const kept = keepAnswer(spec, slot!, receipt, "verified", view)!;
  assert.deepEqual(kept.tags, [HASH_990]);
  assert.equal(kept.ttlMs, 2_000);
  const final = keepAnswer(spec, slot!, { blockHash: HASH_990, blockNumber: "0x1" }, "verified", view)!;
  assert.equal(final.ttlMs, undefined);
  // A pending transaction (no block yet) is not kept.
  const tx = slotOf("eth_getTransactionByHash", [`0x${"cd".repeat(32)}`]);
  assert.equal(keepAnswer(tx.spec, tx.slot!, { blockHash: null, blockNumber: null }, "verified", view), undefined);
});

test("one upstream's word is never shared and lives briefly, even about a final block", () => {
  // A call at a final block: a verified answer is kept until evicted and shared; a single one is neither.
  const call = slotOf("eth_call", [{ to: ADDR, data: "0x" }, "0x64"]);
  const verified = keepAnswer(call.spec, call.slot!, "0x01", "verified", view)!;
  assert.equal(verified.ttlMs, undefined);
  assert.equal(verified.shared, true);
  const single = keepAnswer(call.spec, call.slot!, "0x01", "single", view)!;
  assert.equal(single.key, verified.key);
  assert.equal(single.ttlMs, 2_000);
  assert.equal(single.shared, false);
  // Addressed by hash: the `blockNumber` in the answer is the answering upstream's own claim; it makes nothing final.
  const hash = `0x${"ab".repeat(32)}`;
  const byHash = slotOf("eth_getBlockTransactionCountByHash", [hash]);
  const claimed = keepAnswer(byHash.spec, byHash.slot!, { blockNumber: "0x1" }, "single", view)!;
  assert.equal(claimed.shared, false);
  assert.equal(claimed.ttlMs, 2_000);
  assert.deepEqual(claimed.tags, [hash]);
  const receipt = slotOf("eth_getTransactionReceipt", [`0x${"cd".repeat(32)}`]);
  const old = keepAnswer(receipt.spec, receipt.slot!, { blockHash: HASH_990, blockNumber: "0x1" }, "single", view)!;
  assert.equal(old.shared, false);
  assert.equal(old.ttlMs, 2_000);
  assert.equal(keepAnswer(call.spec, call.slot!, "0x01", "short", view), undefined);
});

test("canonical JSON ignores key order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }),
    '{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}',
  );
  // An object deep in arrays is sorted too; params without objects are written as they are.
  assert.equal(canonicalJson([["0x1", [{ b: 1, a: 2 }]], false]), '[["0x1",[{"a":2,"b":1}]],false]');
  assert.equal(canonicalJson(["0x1", false, 3, null, ["x"]]), '["0x1",false,3,null,["x"]]');
});

test("only answers about final data are shared through the store", () => {
  // By number: the slot says so up front.
  assert.equal(slotOf("eth_getBalance", [ADDR, "0x64"]).slot!.shared, true);
  assert.equal(slotOf("eth_getBalance", [ADDR, `0x${(990).toString(16)}`]).slot!.shared, false);
  // By hash: looked up in the store, kept there only once the answer shows its block is final.
  const hash = `0x${"ab".repeat(32)}`;
  const byHash = slotOf("eth_getBlockByHash", [hash, false]);
  assert.equal(byHash.slot!.shared, true);
  assert.equal(keepAnswer(byHash.spec, byHash.slot!, { number: "0x64", hash }, "verified", view)!.shared, true);
  assert.equal(keepAnswer(byHash.spec, byHash.slot!, { number: "0x3de", hash }, "verified", view)!.shared, false);
  const logs = slotOf("eth_getLogs", [{ blockHash: hash }]);
  assert.equal(keepAnswer(logs.spec, logs.slot!, [], "verified", view)!.shared, false, "an empty list names no block");
  assert.equal(keepAnswer(logs.spec, logs.slot!, [{ blockNumber: "0x64" }], "verified", view)!.shared, true);
  // Receipts: final once their block is.
  const receipt = slotOf("eth_getTransactionReceipt", [`0x${"cd".repeat(32)}`]);
  const at = (n: number) => ({ blockHash: HASH_990, blockNumber: `0x${n.toString(16)}` });
  assert.equal(keepAnswer(receipt.spec, receipt.slot!, at(990), "verified", view)!.shared, false);
  assert.equal(keepAnswer(receipt.spec, receipt.slot!, at(936), "verified", view)!.shared, true);
  assert.equal(keepAnswer(receipt.spec, receipt.slot!, at(937), "verified", view)!.shared, false);
});
