/**
 * `eth_getLogs` derived from proven blocks, on real anvil nodes in four independent domains: for a set of filters
 * (address, topic, topic alternatives, null positions, a block hash, a range without a match, a range split into
 * chunks) the gateway's answer equals the node's own, byte for byte, labelled `proof`. An upstream that hides a log
 * (a zeroed bloom, a receipt without it) or invents one (a receipt with an extra log) is disputed and never heard.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Hex, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { EMITTER_ON_CALL_INIT, EMITTER_TOPIC, TOPICS_EMITTER_INIT } from "./harness/contracts.ts";
import { disputesOf, liarRewrites } from "./harness/liar.ts";
import { FOUR_DOMAINS, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { minedSender } from "./harness/sender.ts";

/** Chunks of this many blocks: a range of the test spans several. */
const CHUNK_BLOCKS = 16;
const topic = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const [T1, T2, T3, T4] = [topic(1), topic(2), topic(3), topic(4)];
const hex = (n: number) => `0x${n.toString(16)}`;

let net: TestNetwork;
let topics: Hex;
let single: Hex;
let sends = 0;

before(async () => {
  net = await startTestNetwork({ nodes: FOUR_DOMAINS, config: { logs: { chunkBlocks: CHUNK_BLOCKS } } });
  const setup = minedSender(net, 1);
  topics = await setup.deploy(TOPICS_EMITTER_INIT);
  single = await setup.deploy(EMITTER_ON_CALL_INIT);
});
after(() => net?.stop());

const signer = () => privateKeyToAccount(net.devnet.accounts[2]!.privateKey);
/** A call to `to` sent to every node, mined with the next block. */
async function call(to: Hex, data: Hex = "0x") {
  const raw = await signer().signTransaction({
    chainId: net.chainId,
    nonce: sends++,
    to,
    data,
    gas: 100_000n,
    maxFeePerGas: parseGwei("20"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
  await net.devnet.sendRawTransaction(raw);
}
const emit = (t0: Hex, t1: Hex, data = "") => call(topics, `${t0}${t1.slice(2)}${data}` as Hex);

/** `count` blocks, some with logs of both contracts, several without; returns the first and last block. */
async function produce(count: number): Promise<{ from: number; to: number }> {
  const from = net.devnet.head() + 1;
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) await emit(T1, T2, "abcd");
    if (i % 5 === 0) {
      await emit(T1, T3);
      await call(single);
    }
    if (i % 7 === 0) await emit(T4, T2, "ff".repeat(40));
    await net.devnet.mine();
  }
  await net.synced();
  return { from, to: net.devnet.head() };
}

async function same(filter: Record<string, unknown>, what: string) {
  const expected = await net.direct("eth_getLogs", [filter]);
  const answer = await net.rpc("eth_getLogs", [filter]);
  assert.equal(answer.body.error, undefined, `${what}: ${JSON.stringify(answer.body.error)}`);
  assert.deepEqual(answer.body.result, expected, what);
  assert.equal(answer.headers.get("multihome-verified"), "proof", what);
  return expected as unknown[];
}

test("the logs served are the node's own for every kind of filter, all proven", async (t) => {
  const { from, to } = await produce(40);
  const range = { fromBlock: hex(from), toBlock: hex(to) };
  const narrow = { fromBlock: hex(from), toBlock: hex(from + CHUNK_BLOCKS - 1) };
  const counts = {
    address: (await same({ ...narrow, address: topics }, "address only")).length,
    topic: (await same({ ...narrow, topics: [T1] }, "topic only")).length,
    alternatives: (await same({ ...narrow, topics: [null, [T2, T3]] }, "topic alternatives")).length,
    nulls: (await same({ ...narrow, topics: [null, null] }, "null positions")).length,
    addresses: (await same({ ...narrow, address: [single, topics], topics: [[T1, EMITTER_TOPIC]] }, "two addresses"))
      .length,
    none: (await same({ ...narrow, topics: [topic(9)] }, "a range with no match")).length,
    everything: (await same(narrow, "no address nor topic")).length,
    chunked: (await same({ ...range, address: topics, topics: [null, T2] }, "a range split into chunks")).length,
  };
  t.diagnostic(JSON.stringify(counts));
  assert.equal(counts.none, 0);
  assert.ok(counts.chunked > counts.alternatives / 2 && counts.nulls > counts.address, "filters pick different logs");
  const block = (await net.direct("eth_getBlockByNumber", [hex(from), false])) as { hash: Hex };
  assert.ok((await same({ blockHash: block.hash }, "a block hash")).length > 0);
  assert.equal((await same({ blockHash: block.hash, topics: [T4, T1] }, "a block hash, no match")).length, 0);
});

test("a block whose bloom lacks the filter is not fetched: only the matching blocks' receipts are", async () => {
  const { from, to } = await produce(21);
  net.resetStats();
  const logs = await same({ fromBlock: hex(from), toBlock: hex(from + 14), topics: [T4] }, "rare topic");
  assert.equal(logs.length, 3, "blocks 0, 7 and 14 of the run");
  assert.equal(net.upstreamRequests("eth_getBlockReceipts"), 3);
  assert.equal(net.upstreamRequests("eth_getLogs"), 0, "no upstream's list of logs is asked for");
  await same({ fromBlock: hex(from), toBlock: hex(to), address: single }, "the other contract");
});

/** Drops the last log of every receipt that has one. */
const withoutLast = (receipts: unknown) =>
  (receipts as { logs: unknown[] }[]).map((r) => (r.logs.length > 0 ? { ...r, logs: r.logs.slice(0, -1) } : r));
const emptyBloom = `0x${"00".repeat(256)}`;

test("an upstream that hides logs (zeroed blooms, receipts without them) is disputed and never heard", async (t) => {
  const { from, to } = await produce(10);
  const lies = await liarRewrites(
    net,
    "u1",
    t,
    ["eth_getBlockReceipts", "eth_getBlockByNumber", "eth_getBlockByHash"],
    (request, result) => {
      if (request.method === "eth_getBlockReceipts") return withoutLast(result);
      return result && typeof result === "object" ? { ...result, logsBloom: emptyBloom } : result;
    },
    "slow",
  );
  const disputesBefore = disputesOf(net, "u1");
  await same({ fromBlock: hex(from), toBlock: hex(to), topics: [T1] }, "hidden by the liar");
  await same({ fromBlock: hex(from), toBlock: hex(to), address: single }, "hidden by the liar");
  t.diagnostic(`lies ${lies()}, disputes ${disputesOf(net, "u1") - disputesBefore}`);
  assert.ok(lies() > 0, "the liar was asked");
  assert.ok(disputesOf(net, "u1") > disputesBefore, "and disputed");
});

test("an upstream that invents a log in a receipt is disputed and never heard", async (t) => {
  const { from, to } = await produce(10);
  const lies = await liarRewrites(
    net,
    "u2",
    t,
    // Honest headers and bodies are slow too: the liar, fast, is the one asked for receipts.
    ["eth_getBlockReceipts", "eth_getBlockByNumber", "eth_getBlockByHash"],
    (request, result) =>
      request.method !== "eth_getBlockReceipts"
        ? result
        : (result as { logs: Record<string, unknown>[]; transactionHash: Hex }[]).map((r) => {
            // A well-formed log of this block and transaction, from the emitter, with the topics the filter asks for.
            const invented = { ...(r.logs[0] ?? {}), address: topics, topics: [T1, T3], data: "0x" };
            return { ...r, logs: [...r.logs, invented] };
          }),
    "slow",
  );
  const disputesBefore = disputesOf(net, "u2");
  await same({ fromBlock: hex(from), toBlock: hex(to), topics: [null, T3] }, "invented by the liar");
  await same({ fromBlock: hex(from), toBlock: hex(to), address: topics }, "invented by the liar");
  t.diagnostic(`lies ${lies()}, disputes ${disputesOf(net, "u2") - disputesBefore}`);
  assert.ok(lies() > 0, "the liar was asked");
  assert.ok(disputesOf(net, "u2") > disputesBefore, "and disputed");
});
