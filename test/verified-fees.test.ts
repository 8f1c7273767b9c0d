/**
 * Fee suggestions from proven blocks, on real anvil nodes in three independent domains: `eth_maxPriorityFeePerGas` is
 * the 60th percentile of the three lowest tips paid in each of the last 20 blocks (go-ethereum's fee oracle), computed
 * here from the nodes' blocks independently, and `eth_gasPrice` that plus the head's base fee; both `proof`, never above
 * the highest tip actually paid; a provider that inflates its own suggestion is not even asked.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Hex, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { liarRewrites } from "./harness/liar.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";

let net: TestNetwork;

before(async () => {
  net = await startTestNetwork({});
});
after(() => net?.stop());

const nonces = new Map<number, number>();
/** A transfer from dev account `from` paying `tipGwei`, sent to every node (not mined). */
async function pay(from: number, tipGwei: string) {
  const account = privateKeyToAccount(net.devnet.accounts[from]!.privateKey);
  const nonce = nonces.get(from) ?? 0;
  nonces.set(from, nonce + 1);
  const raw = await account.signTransaction({
    chainId: net.chainId,
    nonce,
    to: net.devnet.accounts[9]!.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("100"),
    maxPriorityFeePerGas: parseGwei(tipGwei),
  });
  await net.devnet.sendRawTransaction(raw);
}

/** The suggestion, computed from the node's own blocks by the rule, without the gateway's code. */
async function expectedTip(head: number): Promise<{ tip: bigint; maxPaid: bigint }> {
  const samples: bigint[] = [];
  let maxPaid = 0n;
  for (let n = head; n > Math.max(-1, head - 20); n--) {
    const block = (await net.direct("eth_getBlockByNumber", [`0x${n.toString(16)}`, true])) as {
      baseFeePerGas: Hex;
      transactions: { maxFeePerGas: Hex; maxPriorityFeePerGas: Hex }[];
    };
    const base = BigInt(block.baseFeePerGas);
    const tips = block.transactions
      .map((tx) => {
        const headroom = BigInt(tx.maxFeePerGas) - base;
        const tip = BigInt(tx.maxPriorityFeePerGas);
        return tip < headroom ? tip : headroom;
      })
      .filter((t) => t >= 2n)
      .sort((a, b) => (a < b ? -1 : 1));
    for (const t of tips) if (t > maxPaid) maxPaid = t;
    samples.push(...tips.slice(0, 3));
  }
  samples.sort((a, b) => (a < b ? -1 : 1));
  const tip = samples.length === 0 ? 10n ** 9n : samples[Math.floor(((samples.length - 1) * 60) / 100)]!;
  return { tip, maxPaid };
}

test("the tip and gas price suggested are those the proven recent blocks paid, labelled proof", async (t) => {
  const tips = [["1", "2", "3", "40"], ["0.5", "7"], ["9", "11", "13"], ["2.5"]];
  for (const [i, block] of tips.entries()) {
    for (const [j, tip] of block.entries()) await pay(1 + ((i * 4 + j) % 8), tip);
    await net.devnet.mine();
  }
  await net.synced();
  const head = Number(BigInt((await net.direct("eth_blockNumber", [])) as string));
  const { tip, maxPaid } = await expectedTip(head);
  const latest = (await net.direct("eth_getBlockByNumber", ["latest", false])) as { baseFeePerGas: Hex };
  const suggested = await net.rpc("eth_maxPriorityFeePerGas", []);
  const price = await net.rpc("eth_gasPrice", []);
  t.diagnostic(`tip ${suggested.body.result} (expected 0x${tip.toString(16)}), gas price ${price.body.result}`);
  assert.equal(BigInt(suggested.body.result as string), tip);
  assert.equal(suggested.headers.get("multihome-verified"), "proof");
  assert.equal(BigInt(price.body.result as string), tip + BigInt(latest.baseFeePerGas));
  assert.equal(price.headers.get("multihome-verified"), "proof");
  assert.ok(tip <= maxPaid, "never above what a block actually paid");
});

test("a provider inflating its own fee suggestion is not asked: the suggestion is the proven blocks'", async (t) => {
  const lies = await liarRewrites(net, "u2", t, ["eth_maxPriorityFeePerGas", "eth_gasPrice"], () => "0x746a528800");
  const head = Number(BigInt((await net.direct("eth_blockNumber", [])) as string));
  const { tip } = await expectedTip(head);
  for (let i = 0; i < 5; i++) {
    const suggested = await net.rpc("eth_maxPriorityFeePerGas", []);
    assert.equal(BigInt(suggested.body.result as string), tip);
  }
  assert.equal(lies(), 0, "fee suggestions are not asked of any provider");
});

test("recent blocks that cannot be proven: the suggestion is independent domains' (quorum), never one provider's", async () => {
  // OP-stack nodes served as the `ethereum` stack: every block holds a deposit transaction that stack cannot encode,
  // so no recent body can be proven and the fee suggestions fall back to the median of independent domains.
  const op = await startTestNetwork({ network: "optimism", chain: { stack: "ethereum" } });
  try {
    await op.devnet.mine();
    await op.synced();
    for (const method of ["eth_maxPriorityFeePerGas", "eth_gasPrice"]) {
      const reply = await op.rpc(method, []);
      assert.equal(reply.body.result, await op.direct(method, []), `${method}: the nodes' own suggestion`);
      assert.equal(reply.headers.get("multihome-verified"), "quorum", method);
    }
  } finally {
    await op.stop();
  }
});
