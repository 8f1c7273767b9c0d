/**
 * eth_estimateGas and eth_createAccessList run locally over proven state, on real anvil nodes in four independent
 * domains: a corpus of transactions (a transfer, token writes, a Multicall3 of 50 reads, creations, a revert, calldata
 * under the EIP-7623 floor, a sender without the value) is answered as the node answers it — an estimate within the
 * agreed rule of anvil's (anvil searches to the last unit of gas; the gateway stops within 1.5 %, as go-ethereum), an
 * access list the same accounts, slots and gas — labelled `proof`; one upstream answering every estimate low and
 * inventing access lists is disputed and never heard.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeFunctionData, type Hex, multicall3Abi, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { canonicalAccessListAnswer } from "../src/core/execution/access-list.ts";
import { MULTICALL3_INIT, TOKEN_ABI, TOKEN_INIT } from "./harness/contracts.ts";
import { disputesOf, liarRewrites } from "./harness/liar.ts";
import { FOUR_DOMAINS, type RpcReply, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { type MinedSender, minedSender } from "./harness/sender.ts";

let net: TestNetwork;
const LIAR = "u2";
let send: MinedSender["send"];
let token: Hex;
let multicall: Hex;
let from: Hex;
const holders = Array.from({ length: 50 }, (_, i) => `0x${(0xb000 + i).toString(16).padStart(40, "0")}` as Hex);
/** An account with no ether at all. */
const POOR = "0x000000000000000000000000000000000000c0de" as Hex;
const EOA = "0x000000000000000000000000000000000000e0a1" as Hex;

before(async () => {
  net = await startTestNetwork({ nodes: FOUR_DOMAINS, config: { verification: { disputesToCordon: 1_000 } } });
  const sender = minedSender(net, 7);
  send = sender.send;
  token = await sender.deploy(TOKEN_INIT);
  multicall = await sender.deploy(MULTICALL3_INIT);
  from = net.devnet.accounts[1]!.address.toLowerCase() as Hex;
  for (const [i, holder] of holders.slice(0, 5).entries()) await send(set(holder, BigInt(i + 1) * 10n ** 18n), token);
});
after(() => net?.stop());

const set = (holder: Hex, value: bigint) =>
  encodeFunctionData({ abi: TOKEN_ABI, functionName: "set", args: [holder, value] });
const balanceOf = (holder: Hex) => encodeFunctionData({ abi: TOKEN_ABI, functionName: "balanceOf", args: [holder] });
const aggregate = (calls: { target: Hex; allowFailure: boolean; callData: Hex }[]) =>
  encodeFunctionData({ abi: multicall3Abi, functionName: "aggregate3", args: [calls] });
const fifty = () => aggregate(holders.map((h) => ({ target: token, allowFailure: false, callData: balanceOf(h) })));
const slotOf = (holder: Hex) => `0x${holder.slice(2).padStart(64, "0")}` as Hex;

/** Transactions whose estimate and access list the gateway must give as anvil does. */
function corpus(): [string, Record<string, unknown>][] {
  return [
    ["a value transfer to an account without code", { from, to: EOA, value: "0x1" }],
    ["a token write of a new slot", { from, to: token, data: set(holders[20]!, 7n) }],
    ["a token write clearing a slot (a refund)", { from, to: token, data: set(holders[1]!, 0n) }],
    ["a token read", { from, to: token, data: balanceOf(holders[2]!) }],
    [
      "a token read with its slot in the access list",
      {
        from,
        to: token,
        data: balanceOf(holders[2]!),
        accessList: [{ address: token, storageKeys: [slotOf(holders[2]!)] }],
      },
    ],
    [
      "a token write paying EIP-1559 fees",
      {
        from,
        to: token,
        data: set(holders[21]!, 1n),
        maxFeePerGas: `0x${parseGwei("30").toString(16)}`,
        maxPriorityFeePerGas: "0x1",
      },
    ],
    ["a call with value to a contract", { from, to: token, value: "0x5", data: balanceOf(holders[3]!) }],
    ["Multicall3 of 50 balanceOf", { from, to: multicall, data: fifty() }],
    ["a creation (the token)", { from, data: TOKEN_INIT }],
    ["a creation running CREATE2", { from, data: "0x6001600060006000f5" }],
    ["calldata under the EIP-7623 floor", { from, to: EOA, data: `0x${"ff".repeat(6_000)}` }],
    [
      "a call touching other accounts, precompiles and the coinbase",
      {
        from,
        // BALANCE of an EOA, of 0x04 and of COINBASE; EXTCODESIZE of the token; SLOAD 7 of itself.
        data: `0x73${EOA.slice(2)}31506004315041315073${token.slice(2)}3b5060075450`,
      },
    ],
  ];
}

/** The same question straight to a node at the block the gateway answered at. */
async function truth(method: string, call: Record<string, unknown>, reply: RpcReply) {
  const block = reply.headers.get("multihome-block");
  const res = await fetch(net.devnet.nodes[0]!.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [call, `0x${Number(block).toString(16)}`] }),
  });
  return (await res.json()) as RpcReply["body"];
}

/** Why the gateway's estimate breaks the agreed rule against the node's, or undefined when it keeps it. */
function estimateWrong(got: RpcReply["body"], node: RpcReply["body"]): string | undefined {
  if (node.error || got.error) {
    if (!node.error || !got.error)
      return `${JSON.stringify(got).slice(0, 160)} vs node ${JSON.stringify(node).slice(0, 160)}`;
    if (node.error.code === 3) return got.error.code === 3 && got.error.data === node.error.data ? undefined : "revert";
    return /insufficient funds/i.test(node.error.message) && /insufficient funds/i.test(got.error.message)
      ? undefined
      : `${got.error.message} vs node ${node.error.message}`;
  }
  const [g, n] = [BigInt(got.result as string), BigInt(node.result as string)];
  // Enough (at least anvil's exact lowest limit), and within go-ethereum's error ratio of it.
  return g >= n && g * 985n <= n * 1000n ? undefined : `${g} vs node ${n}`;
}

describe("eth_estimateGas over proven state", () => {
  test("a corpus of transactions is estimated within the agreed rule of the node's, labelled proof", async (t) => {
    const wrong: string[] = [];
    for (const [name, call] of corpus()) {
      const reply = await net.rpc("eth_estimateGas", [call, "latest"]);
      const node = await truth("eth_estimateGas", call, reply);
      const why = estimateWrong(reply.body, node);
      const label = reply.headers.get("multihome-verified");
      if (why) wrong.push(`${name}: ${why}`);
      else if (label !== "proof") wrong.push(`${name}: labelled ${label}`);
      t.diagnostic(
        `${name}: ${JSON.stringify(reply.body.result ?? reply.body.error?.message)} (node ${JSON.stringify(node.result ?? node.error?.message)})`,
      );
    }
    assert.deepEqual(wrong, []);
  });

  test("a revert is answered as the node answers it: code 3 with its data", async () => {
    const call = {
      from,
      to: multicall,
      data: aggregate([{ target: multicall, allowFailure: false, callData: "0xdeadbeef" }]),
    };
    const reply = await net.rpc("eth_estimateGas", [call, "latest"]);
    const node = await truth("eth_estimateGas", call, reply);
    assert.equal(reply.body.error?.code, 3);
    assert.equal(reply.body.error?.data, node.error?.data);
    assert.match(reply.body.error!.message, /execution reverted: Multicall3: call failed/);
    assert.equal(reply.headers.get("multihome-verified"), "proof");
  });

  test("a sender without the value it sends: insufficient funds, as nodes say it", async () => {
    const call = { from: POOR, to: token, value: "0x1", data: balanceOf(holders[0]!) };
    const reply = await net.rpc("eth_estimateGas", [call, "latest"]);
    const node = await truth("eth_estimateGas", call, reply);
    assert.match(node.error!.message, /insufficient funds/i);
    assert.equal(reply.body.error?.code, -32000);
    assert.equal(
      reply.body.error?.message,
      "insufficient funds for gas * price + value: address 0x000000000000000000000000000000000000c0DE have 0 want 1",
    );
    assert.equal(reply.headers.get("multihome-verified"), "proof");
  });

  test("a value transfer the sender cannot pay: anvil answers 21000 unrun, so independent domains decide", async () => {
    const call = { from: POOR, to: EOA, value: "0x1" };
    const reply = await net.rpc("eth_estimateGas", [call, "latest"]);
    const node = await truth("eth_estimateGas", call, reply);
    assert.equal(node.result, "0x5208");
    assert.equal(reply.body.result, "0x5208");
    assert.equal(reply.headers.get("multihome-verified"), "quorum");
  });

  test("the estimate served is enough: a transaction sent with it succeeds", async () => {
    const call = { from, to: token, data: set(holders[30]!, 3n) };
    const reply = await net.rpc("eth_estimateGas", [call, "latest"]);
    const signer = privateKeyToAccount(net.devnet.accounts[1]!.privateKey);
    const raw = await signer.signTransaction({
      chainId: net.chainId,
      nonce: Number(await net.direct("eth_getTransactionCount", [from, "latest"])),
      to: token,
      data: call.data,
      gas: BigInt(reply.body.result as string),
      maxFeePerGas: parseGwei("20"),
      maxPriorityFeePerGas: parseGwei("1"),
    });
    const hash = await net.devnet.sendRawTransaction(raw);
    await net.devnet.mine();
    await net.synced();
    const receipt = (await net.direct("eth_getTransactionReceipt", [hash])) as { status: string };
    assert.equal(receipt.status, "0x1");
  });
});

describe("eth_createAccessList over proven state", () => {
  test("a corpus of transactions gets the node's list (any order) and gas, labelled proof", async (t) => {
    const wrong: string[] = [];
    for (const [name, call] of corpus()) {
      const reply = await net.rpc("eth_createAccessList", [call, "latest"]);
      const node = await truth("eth_createAccessList", call, reply);
      const label = reply.headers.get("multihome-verified");
      const got = reply.body.result === undefined ? reply.body.error : canonicalAccessListAnswer(reply.body.result);
      const want = node.result === undefined ? node.error : canonicalAccessListAnswer(node.result);
      if (JSON.stringify(got) !== JSON.stringify(want))
        wrong.push(`${name}: ${JSON.stringify(got).slice(0, 200)} vs node ${JSON.stringify(want).slice(0, 200)}`);
      else if (reply.body.result !== undefined && JSON.stringify(reply.body.result) !== JSON.stringify(got))
        wrong.push(`${name}: not in canonical order`);
      else if (label !== "proof" && node.error === undefined) wrong.push(`${name}: labelled ${label}`);
      t.diagnostic(`${name}: ${JSON.stringify(reply.body.result ?? reply.body.error?.message).slice(0, 160)}`);
    }
    assert.deepEqual(wrong, []);
  });
});

describe("a liar", () => {
  test("answering every estimate with 21000 and inventing access lists is never heard; the low estimates are disputed", async (t) => {
    const before = disputesOf(net, LIAR);
    const invented = { accessList: [{ address: `0x${"de".repeat(20)}`, storageKeys: [] }], gasUsed: "0x5208" };
    const lies = await liarRewrites(net, LIAR, t, ["eth_estimateGas", "eth_createAccessList"], (request) =>
      request.method === "eth_estimateGas" ? "0x5208" : invented,
    );
    const wrong: string[] = [];
    for (let i = 0; i < 4; i++) {
      await send(set(holders[40 + i]!, BigInt(i + 1)), token);
      const call = { from, to: token, data: set(holders[45]!, BigInt(i + 1)) };
      const estimate = await net.rpc("eth_estimateGas", [call, "latest"]);
      const why = estimateWrong(estimate.body, await truth("eth_estimateGas", call, estimate));
      if (why || estimate.headers.get("multihome-verified") !== "proof")
        wrong.push(`estimate ${i}: ${why ?? estimate.headers.get("multihome-verified")}`);
      const list = await net.rpc("eth_createAccessList", [call, "latest"]);
      const node = await truth("eth_createAccessList", call, list);
      if (JSON.stringify(list.body.result) !== JSON.stringify(canonicalAccessListAnswer(node.result)))
        wrong.push(`access list ${i}: ${JSON.stringify(list.body).slice(0, 200)}`);
      else if (list.headers.get("multihome-verified") !== "proof")
        wrong.push(`access list ${i}: labelled ${list.headers.get("multihome-verified")}`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(lies() > 0, "the liar answered");
    assert.ok(disputesOf(net, LIAR) > before, "the liar is disputed");
  });

  test("an estimate above ours that is enough (another estimator's margin) is served as ours and not disputed", async (t) => {
    const before = disputesOf(net, LIAR);
    // Half as much again: more than the error ratio above the lowest limit, yet enough to run.
    const generous = await liarRewrites(net, LIAR, t, ["eth_estimateGas"], (_, result) =>
      typeof result === "string" ? `0x${((BigInt(result) * 3n) / 2n).toString(16)}` : result,
    );
    for (let i = 0; i < 4; i++) {
      const call = { from, to: token, data: set(holders[46]!, BigInt(i + 10)) };
      const estimate = await net.rpc("eth_estimateGas", [call, "latest"]);
      assert.equal(estimateWrong(estimate.body, await truth("eth_estimateGas", call, estimate)), undefined);
      assert.equal(estimate.headers.get("multihome-verified"), "proof");
    }
    assert.ok(generous() > 0, "the generous upstream answered");
    assert.equal(disputesOf(net, LIAR), before, "a figure that suffices is not held against its upstream");
  });
});
