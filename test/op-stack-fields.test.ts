/**
 * What an OP-stack deposit states outside its encoding, on real anvil nodes (`--network optimism`) in three
 * independent domains: its zero price and signature fields, and its `nonce`, which is checked against the sender's
 * nonce proven at the end of the block. A nonce the proof does not bear out is served, but not as `proof` (node
 * software differs: anvil's optimism mode states 0 for every deposit); a price or signature one upstream altered is
 * charged to it, and the client gets the nodes' answer. Since Isthmus a header's `withdrawalsRoot` means the message
 * passer's storage root, proven against the block's state root.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hex } from "viem";
import { L2_TO_L1_MESSAGE_PASSER } from "../src/core/encodings/op-stack.ts";
import { MultihomeError } from "../src/core/errors.ts";
import { EMPTY_TRIE_ROOT } from "../src/core/verification/proof.ts";
import { createStackFields } from "../src/engine/verification/stack-fields.ts";
import { disputesOf, liarRewrites } from "./harness/liar.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";

let net: TestNetwork;
const LIAR = "u2";

before(async () => {
  net = await startTestNetwork({ network: "optimism", chain: { stack: "op-stack" } });
});
after(() => net?.stop());

let source = 0;
/** A deposit from dev account 0, mined in a block of its own; returns that block's number as a tag. */
async function depositBlock(): Promise<string> {
  source++;
  await net.direct("eth_sendTransaction", [
    {
      type: "0x7e",
      from: net.devnet.accounts[0]!.address,
      to: net.devnet.accounts[9]!.address,
      value: "0x1",
      mint: "0x100",
      sourceHash: `0x${source.toString(16).padStart(64, "0")}`,
      isSystemTx: false,
      gas: "0x186a0",
    },
  ]);
  const number = await net.devnet.mine();
  await net.synced();
  return `0x${number.toString(16)}`;
}

const allDisputes = () => net.logs.filter((l) => l.includes("answer failed verification")).length;

test("a deposit's nonce is served as proven only where the sender's proven nonce bears it out", async () => {
  const first = await depositBlock(); // the sender's first transaction: anvil states nonce 0, which is right
  const second = await depositBlock(); // anvil states 0 again; the proof says 1
  const evidence: string[] = [];
  for (const tag of [first, second]) {
    const block = (await net.direct("eth_getBlockByNumber", [tag, true])) as { transactions: { hash: Hex }[] };
    // The user deposit follows the block's L1-attributes deposit.
    for (const [method, params] of [["eth_getTransactionByHash", [block.transactions[1]!.hash]]] as const) {
      const reply = await net.rpc(method, [...params]);
      assert.deepEqual(reply.body.result, await net.direct(method, [...params]), method);
      evidence.push(reply.headers.get("multihome-verified") ?? "");
    }
  }
  assert.deepEqual(evidence, ["proof", "single"]);
  assert.equal(allDisputes(), 0, "a nonce the proof does not bear out is nobody's lie");
});

test("a deposit's price or signature altered by one upstream is charged to it; the client gets the nodes' answer", async (t) => {
  const before = disputesOf(net, LIAR);
  const lies = await liarRewrites(net, LIAR, t, ["eth_getBlockByHash"], (_, result) => {
    const block = result as { transactions?: Record<string, unknown>[] };
    const [deposit, ...rest] = block.transactions ?? [];
    if (typeof deposit !== "object" || deposit?.type !== "0x7e") return result;
    return { ...block, transactions: [{ ...deposit, gasPrice: "0x3b9aca00" }, ...rest] };
  });
  const tag = await depositBlock();
  const reply = await net.rpc("eth_getBlockByNumber", [tag, true]);
  assert.deepEqual(reply.body.result, await net.direct("eth_getBlockByNumber", [tag, true]));
  assert.ok(lies() > 0, "the liar answered");
  assert.ok(disputesOf(net, LIAR) > before, "the liar is charged");
  assert.equal(allDisputes() - disputesOf(net, LIAR), 0, "nobody else is");
});

test("an OP-stack withdrawalsRoot is the message passer's storage root at that block, proven against its state root", async () => {
  // anvil keeps the pre-Isthmus meaning (the empty list's root), so the header here is the real block's with the
  // Isthmus field set to what the message passer's storage root is after a write to its storage.
  for (let i = 0; i < net.devnet.nodes.length; i++)
    await net.direct("anvil_setStorageAt", [L2_TO_L1_MESSAGE_PASSER, "0x1", `0x${"ab".repeat(32)}`], i);
  const tag = await depositBlock();
  const block = (await net.direct("eth_getBlockByNumber", [tag, false])) as Record<string, unknown>;
  const storageHash = ((await net.direct("eth_getProof", [L2_TO_L1_MESSAGE_PASSER, [], tag])) as { storageHash: Hex })
    .storageHash;
  assert.notEqual(storageHash, EMPTY_TRIE_ROOT);
  const stackFields = () =>
    createStackFields({
      stack: "op-stack",
      // One real node answers; its proof is verified against the block's state root like any upstream's.
      execute: async (plan) => {
        const verdict = plan.verify!(await net.direct(plan.method, plan.params as unknown[]));
        return verdict.ok
          ? { ok: true, result: verdict.value, upstream: "u1" }
          : { ok: false, error: new MultihomeError("unavailable", verdict.reason) };
      },
    });
  const fields = stackFields();
  assert.deepEqual(await fields.withdrawalsRoot({ ...block, withdrawalsRoot: storageHash }), { ok: true });
  assert.deepEqual(await fields.withdrawalsRoot(block), { ok: true }, "the empty list's root: before Isthmus");
  const other = await fields.withdrawalsRoot({ ...block, withdrawalsRoot: `0x${"11".repeat(32)}` });
  assert.equal(other.ok, "unverifiable");
  const forged = await stackFields().withdrawalsRoot({
    ...block,
    stateRoot: `0x${"22".repeat(32)}`,
    withdrawalsRoot: storageHash,
  });
  // No proof verifies against that state root: the root stands as the header hash binds it, and nobody is blamed.
  assert.deepEqual(forged, { ok: true });
});
