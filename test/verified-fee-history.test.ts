/**
 * `eth_feeHistory` and `eth_blobBaseFee` computed from proven headers and receipts, on real anvil nodes in four
 * independent domains: blocks with transactions of varied tips and gas (EIP-1559 ones, one whose tip its fee cap
 * limits, a legacy one, an empty block) give the same answer through the gateway as the node gives itself, labelled
 * `proof`, without any node being asked for its own fee history; a provider inflating its fee history and blob base
 * fee is never heard.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Hex, parseGwei, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { liarRewrites } from "./harness/liar.ts";
import { FOUR_DOMAINS, startTestNetwork, type TestNetwork } from "./harness/network.ts";

let net: TestNetwork;
let head: number;

before(async () => {
  net = await startTestNetwork({ nodes: FOUR_DOMAINS });
  // Per block: [tip in gwei, calldata bytes, fee cap in gwei (default 100), legacy?]
  const blocks: [string, number, string?, boolean?][][] = [
    [
      ["1", 0],
      ["3", 200],
      ["2", 40],
      ["40", 0],
    ],
    [
      ["0.5", 900],
      ["7", 10],
    ],
    [],
    [
      ["9", 0],
      ["11", 300],
      ["13", 0],
      ["2", 1_000],
      ["1.1", 50, "1.2"],
    ],
    [
      ["5", 20, undefined, true],
      ["6", 0],
    ],
    [["1.5", 64]],
  ];
  const nonces = new Map<number, number>();
  let from = 1;
  for (const block of blocks) {
    for (const [tip, bytes, cap, legacy] of block) {
      const account = privateKeyToAccount(net.devnet.accounts[from]!.privateKey);
      const nonce = nonces.get(from) ?? 0;
      nonces.set(from, nonce + 1);
      from = (from % 7) + 1;
      const common = {
        chainId: net.chainId,
        nonce,
        to: net.devnet.accounts[9]!.address,
        value: 1n,
        gas: 100_000n,
        data: toHex(new Uint8Array(bytes).fill(7)),
      };
      const raw = legacy
        ? await account.signTransaction({ ...common, type: "legacy", gasPrice: parseGwei(tip) })
        : await account.signTransaction({
            ...common,
            maxFeePerGas: parseGwei(cap ?? "100"),
            maxPriorityFeePerGas: parseGwei(tip),
          });
      await net.devnet.sendRawTransaction(raw);
    }
    await net.devnet.mine();
  }
  await net.synced();
  head = Number(BigInt((await net.direct("eth_blockNumber", [])) as string));
});
after(() => net?.stop());

type FeeHistory = { baseFeePerGas: Hex[]; baseFeePerBlobGas?: Hex[]; [key: string]: unknown };

test("eth_feeHistory is the node's own answer, computed from proven headers and receipts", async (t) => {
  net.resetStats();
  let compared = 0;
  for (const count of ["0x1", "0x3", "0x6", "0xa", 4]) {
    for (const percentiles of [[], [10, 50, 90], [0, 25, 75, 100]]) {
      for (const newest of ["latest", toHex(head)]) {
        const params = [count, newest, percentiles];
        const truth = await net.direct("eth_feeHistory", params);
        const reply = await net.rpc("eth_feeHistory", params);
        assert.deepEqual(reply.body.result, truth, `eth_feeHistory ${JSON.stringify(params)}`);
        assert.equal(reply.headers.get("multihome-verified"), "proof", JSON.stringify(params));
        compared++;
      }
    }
  }
  t.diagnostic(`${compared} fee histories equal to the node's, all proof`);
  assert.equal(net.upstreamRequests("eth_feeHistory"), 0, "no node is asked for its fee history");
});

test("an older newest block: the next base fee is that of its successor's header", async () => {
  // anvil answers every range with its pending block's fees last; the chain's truth is the successor's header.
  const newest = head - 2;
  for (const percentiles of [[], [10, 50, 90]]) {
    const params = ["0x3", toHex(newest), percentiles];
    const truth = (await net.direct("eth_feeHistory", params)) as FeeHistory;
    const successor = (await net.direct("eth_getBlockByNumber", [toHex(newest + 1), false])) as {
      baseFeePerGas: Hex;
    };
    const reply = await net.rpc("eth_feeHistory", params);
    const got = reply.body.result as FeeHistory;
    assert.equal(reply.headers.get("multihome-verified"), "proof");
    assert.deepEqual(got.baseFeePerGas.slice(0, -1), truth.baseFeePerGas.slice(0, -1));
    assert.equal(got.baseFeePerGas.at(-1), successor.baseFeePerGas);
    assert.deepEqual(
      { ...got, baseFeePerGas: [], baseFeePerBlobGas: [] },
      { ...truth, baseFeePerGas: [], baseFeePerBlobGas: [] },
    );
  }
});

test("eth_blobBaseFee is the node's, from the head's proven header", async () => {
  const truth = await net.direct("eth_blobBaseFee", []);
  const reply = await net.rpc("eth_blobBaseFee", []);
  assert.equal(reply.body.result, truth);
  assert.equal(reply.headers.get("multihome-verified"), "proof");
});

test("a pending newest block cannot be proven: independent domains agree on it instead", async () => {
  const params = ["0x2", "pending", [50]];
  const reply = await net.rpc("eth_feeHistory", params);
  assert.deepEqual(reply.body.result, await net.direct("eth_feeHistory", params));
  assert.equal(reply.headers.get("multihome-verified"), "quorum");
});

test("a provider inflating its fee history and blob base fee is never heard", async (t) => {
  const inflate = (request: { method: string }, result: unknown) => {
    if (request.method === "eth_blobBaseFee") return "0x174876e800";
    const r = result as FeeHistory & { reward?: Hex[][] };
    return {
      ...r,
      baseFeePerGas: r.baseFeePerGas.map(() => "0x174876e800"),
      reward: (r.reward ?? []).map((row) => row.map(() => "0x174876e800")),
    };
  };
  const lies = await liarRewrites(net, "u2", t, ["eth_feeHistory", "eth_blobBaseFee"], inflate);
  for (const percentiles of [[20, 80], [5]]) {
    const params = ["0x5", "latest", percentiles];
    const reply = await net.rpc("eth_feeHistory", params);
    assert.deepEqual(reply.body.result, await net.direct("eth_feeHistory", params));
    assert.equal(reply.headers.get("multihome-verified"), "proof");
  }
  const blob = await net.rpc("eth_blobBaseFee", []);
  assert.equal(blob.body.result, await net.direct("eth_blobBaseFee", []));
  assert.equal(lies(), 0, "the liar is never asked");
});
