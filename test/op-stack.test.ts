/**
 * An OP-stack chain served honestly, on real anvil nodes (`--network optimism`) in three independent domains: blocks
 * that carry deposit transactions (type 0x7e: no signature, ETH minted on L2), their receipts (with `depositNonce` and
 * `depositReceiptVersion`) and the balances they change are served through the gateway exactly as the nodes answer,
 * proven against the blocks' roots; a signed send through the gateway reaches `included`; no honest upstream is
 * disputed. (On the `ethereum` stack these blocks are beyond the checks and none of this is `proof`.)
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

let net: TestNetwork;

before(async () => {
  net = await startTestNetwork({ network: "optimism", chain: { stack: "op-stack" } });
});
after(() => net?.stop());

const MINT = 10n ** 18n;

/** A user deposit as the sequencer includes it: sent to one node, replayed by the others from its raw bytes. */
async function deposit(to: Hex, sourceByte: string): Promise<Hex> {
  return (await net.direct("eth_sendTransaction", [
    {
      type: "0x7e",
      from: net.devnet.accounts[0]!.address,
      to,
      value: "0x1",
      mint: `0x${MINT.toString(16)}`,
      sourceHash: `0x${sourceByte.repeat(32)}`,
      isSystemTx: false,
      gas: "0x186a0",
    },
  ])) as Hex;
}

test("deposit blocks, receipts and balances are served as the nodes answer them, proven against their roots", async () => {
  const recipient = privateKeyToAccount(`0x${"42".repeat(32)}`).address.toLowerCase() as Hex;
  const depositHash = await deposit(recipient, "a1");
  const signer = privateKeyToAccount(net.devnet.accounts[3]!.privateKey);
  const raw = await signer.signTransaction({
    chainId: net.chainId,
    type: "eip1559",
    nonce: 0,
    to: recipient,
    value: 5n,
    gas: 21_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 1n,
  });
  const sent = await net.rpc("eth_sendRawTransaction", [raw]);
  assert.equal(typeof sent.body.result, "string", JSON.stringify(sent.body));
  const number = await net.devnet.mine();
  await net.synced();
  const tag = `0x${number.toString(16)}`;
  const block = (await net.direct("eth_getBlockByNumber", [tag, true])) as {
    hash: Hex;
    transactions: { type: string }[];
  };
  assert.deepEqual(
    block.transactions.map((t) => t.type),
    ["0x7e", "0x2"],
    "the block holds the deposit, then the signed send",
  );

  const reads: [string, unknown[]][] = [
    ["eth_getBlockByNumber", [tag, true]],
    ["eth_getBlockByHash", [block.hash, false]],
    ["eth_getBlockReceipts", [tag]],
    ["eth_getTransactionByHash", [depositHash]],
    ["eth_getTransactionReceipt", [depositHash]],
    ["eth_getBalance", [recipient, tag]],
  ];
  for (const [method, params] of reads) {
    const r = await net.rpc(method, params);
    assert.deepEqual(
      r.body.result,
      await net.direct(method, params),
      `${method} through the gateway: ${JSON.stringify(r.body.error ?? null)}`,
    );
    assert.equal(r.headers.get("multihome-verified"), "proof", `${method} evidence`);
  }
  const balance = await net.rpc("eth_getBalance", [recipient, tag]);
  // The mint is credited to the depositor, who then sends `value` (1 wei) on: 1 + the signed transfer's 5.
  assert.equal(BigInt(balance.body.result as string), 6n, "the deposit's value and the transfer");

  const status = await waitFor(
    async () => {
      const res = await fetch(`${net.baseUrl}/v1/chains/${net.chainId}/transactions/${sent.body.result}`);
      const body = (await res.json()) as { status?: string; block?: { number: number } };
      return body.status === "included" ? body : undefined;
    },
    { timeoutMs: 10_000, what: "the signed send to be included" },
  );
  assert.equal(status.block?.number, number);
  for (const u of net.app.gateway.readiness().chains[0]!.upstreams) {
    assert.equal(u.admission, "admitted", `${u.id}: ${u.cordonReason ?? ""}`);
  }
  assert.equal(net.logs.filter((l) => l.includes("answer failed verification")).length, 0, "no upstream disputed");
});
