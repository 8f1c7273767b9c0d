/**
 * eth_call executed locally over proven state, on real anvil nodes in four independent domains: a corpus of calls
 * (a token's balanceOf, a Multicall3 of 50 of them, a revert with data, precompiles, CREATE2, SELFBALANCE, block
 * fields, BLOCKHASH) comes through the gateway exactly as the node answers it, labelled `proof`; one upstream lying
 * about calls is disputed and never heard.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeFunctionData, type Hex, multicall3Abi, toHex } from "viem";
import { MULTICALL3_INIT, TOKEN_ABI, TOKEN_INIT } from "./harness/contracts.ts";
import { disputesOf, liarRewrites } from "./harness/liar.ts";
import { FOUR_DOMAINS, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { type MinedSender, minedSender } from "./harness/sender.ts";

let net: TestNetwork;
const LIAR = "u2";

const erc20 = TOKEN_ABI;
let send: MinedSender["send"];

let token: Hex;
let multicall: Hex;
const holders = Array.from({ length: 50 }, (_, i) => `0x${(0xa000 + i).toString(16).padStart(40, "0")}` as Hex);

before(async () => {
  net = await startTestNetwork({ nodes: FOUR_DOMAINS, config: { verification: { disputesToCordon: 1_000 } } });
  const from = minedSender(net, 7);
  send = from.send;
  token = await from.deploy(TOKEN_INIT);
  multicall = await from.deploy(MULTICALL3_INIT);
  for (const [i, holder] of holders.slice(0, 5).entries())
    await send(
      encodeFunctionData({ abi: erc20, functionName: "set", args: [holder, BigInt(i + 1) * 10n ** 18n] }),
      token,
    );
});
after(() => net?.stop());

/** Init code run as a creation call: what it returns is the call's answer (a probe of one opcode). */
const probe = (ops: string): [string, unknown[]] => ["eth_call", [{ data: `0x${ops}60005260206000f3` }, "latest"]];

function corpus(): [string, [string, unknown[]]][] {
  const balanceOf = (holder: Hex) => encodeFunctionData({ abi: erc20, functionName: "balanceOf", args: [holder] });
  const aggregate = (calls: { target: Hex; allowFailure: boolean; callData: Hex }[]) =>
    encodeFunctionData({ abi: multicall3Abi, functionName: "aggregate3", args: [calls] });
  const fifty = holders.map((holder) => ({ target: token, allowFailure: false, callData: balanceOf(holder) }));
  return [
    ["balanceOf a holder", ["eth_call", [{ to: token, data: balanceOf(holders[2]!) }, "latest"]]],
    ["balanceOf nobody (a proven zero)", ["eth_call", [{ to: token, data: balanceOf(holders[40]!) }, "latest"]]],
    ["Multicall3 of 50 balanceOf", ["eth_call", [{ to: multicall, data: aggregate(fifty) }, "latest"]]],
    [
      "a revert with data (Multicall3: call failed)",
      [
        "eth_call",
        [
          { to: multicall, data: aggregate([{ target: multicall, allowFailure: false, callData: "0xdeadbeef" }]) },
          "latest",
        ],
      ],
    ],
    [
      "sha256 precompile",
      ["eth_call", [{ to: "0x0000000000000000000000000000000000000002", data: "0x616263" }, "latest"]],
    ],
    [
      "identity precompile",
      ["eth_call", [{ to: "0x0000000000000000000000000000000000000004", data: "0x0102030405" }, "latest"]],
    ],
    [
      "ecrecover precompile",
      [
        "eth_call",
        [
          {
            to: "0x0000000000000000000000000000000000000001",
            data: `0x${"11".repeat(32)}${"00".repeat(31)}1b${"22".repeat(32)}${"33".repeat(32)}`,
          },
          "latest",
        ],
      ],
    ],
    ["SELFBALANCE", probe("47")],
    ["BALANCE of a funded account", probe(`73${net.devnet.accounts[1]!.address.slice(2)}31`)],
    ["EXTCODEHASH of the token", probe(`73${token.slice(2)}3f`)],
    ["NUMBER, TIMESTAMP, COINBASE", probe("4342184118")],
    ["CHAINID and GASLIMIT", probe("464518")],
    ["PREVRANDAO", probe("44")],
    ["BLOCKHASH of the parent", probe("6001430340")],
    ["BLOBBASEFEE", probe("4a")],
    // CREATE2 of an empty contract with salt 1: the address it deploys to.
    ["CREATE2", probe("6001600060006000f5")],
    ["a call at an older block", ["eth_call", [{ to: token, data: balanceOf(holders[0]!) }, toHex(3)]]],
  ];
}

describe("eth_call over proven state", () => {
  test("a corpus of calls is answered as the node answers it, labelled proof", async () => {
    const wrong: string[] = [];
    for (const [name, [method, params]] of corpus()) {
      const reply = await net.rpc(method, params);
      const answer = (await (
        await fetch(net.devnet.nodes[0]!.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        })
      ).json()) as { result?: unknown; error?: { data?: unknown } };
      const truth = answer.error ? { error: answer.error.data } : { result: answer.result };
      const got = reply.body.error ? { error: reply.body.error.data } : { result: reply.body.result };
      const label = reply.headers.get("multihome-verified");
      if (JSON.stringify(got) !== JSON.stringify(truth))
        wrong.push(`${name}: ${JSON.stringify(got).slice(0, 120)} vs node ${JSON.stringify(truth).slice(0, 120)}`);
      else if (label !== "proof") wrong.push(`${name}: labelled ${label}`);
    }
    assert.deepEqual(wrong, []);
    assert.equal(net.logs.filter((l) => l.includes("answer failed verification")).length, 0);
  });

  test("a cold Multicall3 of 50 balanceOf proves its state in a few requests, from an upstream's access list", async (t) => {
    await net.devnet.mine(); // a new block: nothing proven at it yet
    await net.synced();
    const balanceOf = (holder: Hex) => encodeFunctionData({ abi: erc20, functionName: "balanceOf", args: [holder] });
    const calls = holders.map((holder) => ({ target: token, allowFailure: false, callData: balanceOf(holder) }));
    const data = encodeFunctionData({ abi: multicall3Abi, functionName: "aggregate3", args: [calls] });
    net.resetStats();
    const reply = await net.rpc("eth_call", [{ to: multicall, data }, "latest"]);
    assert.equal(reply.body.result, await net.direct("eth_call", [{ to: multicall, data }, "latest"]));
    assert.equal(reply.headers.get("multihome-verified"), "proof");
    const proofs = net.upstreamRequests("eth_getProof");
    t.diagnostic(`${proofs} eth_getProof requests for 52 accounts and slots`);
    assert.ok(proofs < 26, `${proofs} proof requests: the access list's batch did not take their place`);
    // Again at that block (another gas, so the answer cache misses): everything it reads is proven already.
    net.resetStats();
    const again = await net.rpc("eth_call", [{ to: multicall, data, gas: "0x2dc6c0" }, "latest"]);
    assert.equal(again.body.result, reply.body.result);
    assert.equal(net.upstreamRequests("eth_getProof") + net.upstreamRequests("eth_getCode"), 0, "nothing proven again");
    // One upstream's answer to compare with (a hedge may ask a second when the first is slow), not a quorum.
    assert.ok(net.upstreamRequests("eth_call") <= 2, `${net.upstreamRequests("eth_call")} eth_call requests`);
  });

  test("a liar's zero balance, revert or inflated Multicall3 answer never reaches a client; the liar is disputed", async (t) => {
    const before = disputesOf(net, LIAR);
    const lies = await liarRewrites(net, LIAR, t, ["eth_call"], () => `0x${"00".repeat(32)}`);
    const data = encodeFunctionData({ abi: erc20, functionName: "balanceOf", args: [holders[3]!] });
    for (let i = 0; i < 4; i++) {
      await send(encodeFunctionData({ abi: erc20, functionName: "set", args: [holders[45]!, BigInt(i)] }), token);
      const reply = await net.rpc("eth_call", [{ to: token, data }, "latest"]);
      assert.equal(reply.body.result, await net.direct("eth_call", [{ to: token, data }, "latest"]));
      assert.equal(reply.headers.get("multihome-verified"), "proof");
    }
    assert.ok(lies() > 0, "the liar answered");
    assert.ok(disputesOf(net, LIAR) > before, "the liar is disputed");
  });
});
