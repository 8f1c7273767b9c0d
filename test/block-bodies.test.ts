/**
 * Block bodies are what was asked for, on real anvil nodes behind fault proxies. One upstream answers full blocks with
 * transaction hashes instead of objects, or leaves out the withdrawals its header commits to: that body is never
 * served, the client gets the true block as `proof`, the block's transactions and receipts are still served, and the
 * liar is disputed. A header carrying a field Multihome does not know (as after a fork newer than the code) is not a
 * lie: on one upstream or on all, nobody honest is disputed, and the head and anchored reads carry on.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hex } from "viem";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

type Json = Record<string, unknown>;

/** Fresh blocks read at most, per liar, until it has been asked often enough. */
const MAX_BLOCKS = 30;
/** Answers the liar must have given before the test judges what clients saw. */
const LIES_WANTED = 2;
/** How much later than the liar the honest upstreams answer block bodies. */
const HONEST_DELAY_MS = 100;
/** Head polls an upstream must have answered with an unknown header field before the test judges. */
const POLLS_WANTED = 8;

let net: TestNetwork;

/** Senders by dev account, each counting its own nonces. */
const senders = new Map<number, ReturnType<typeof devSender>>();

/** One value transfer from dev account `index`, mined in a block of its own; its hash and block number. */
async function transferInNewBlock(index: number, value: bigint): Promise<{ hash: Hex; block: number }> {
  let send = senders.get(index);
  if (!send) {
    const nonce = Number(
      BigInt((await net.direct("eth_getTransactionCount", [net.devnet.accounts[index]!.address, "latest"])) as string),
    );
    send = devSender(net, index, nonce);
    senders.set(index, send);
  }
  const hash = await send({ to: net.devnet.accounts[9]!.address, value });
  const block = await net.devnet.mine();
  await net.synced();
  return { hash, block };
}

const upstreamsOf = () => net.app.engine.readiness().chains[0]!.upstreams;
const disputesOf = (id: string, since: number) =>
  net.logs.slice(since).filter((l) => l.includes("answer failed verification") && l.includes(`"upstream":"${id}"`));

before(async () => {
  net = await startTestNetwork({ config: { verification: { disputesToCordon: 3 } } });
});
after(async () => {
  await net?.stop();
});

/** What one liar does to `eth_getBlockByHash` answers (how every block body is fetched). */
const LIES: { name: string; liar: string; account: number; lie: (block: Json, full: boolean) => Json | undefined }[] = [
  {
    name: "transaction hashes instead of the full transactions asked for",
    liar: "u2",
    account: 1,
    lie: (block, full) =>
      full && Array.isArray(block.transactions) && block.transactions.length > 0
        ? { ...block, transactions: (block.transactions as Json[]).map((tx) => tx.hash) }
        : undefined,
  },
  {
    name: "no withdrawals list under a header that commits to one",
    liar: "u3",
    account: 2,
    // Only on bodies (full transactions asked for): a header fetched alone, for a head or a reorg walk, carries no
    // body to judge, so a lie there would count towards the lies wanted without ever reaching the body check.
    lie: (block, full) => {
      if (!full || !("withdrawals" in block) || !block.withdrawalsRoot) return undefined;
      const { withdrawals: _, ...rest } = block;
      return rest;
    },
  },
];

describe("a block body that is not what was asked for", () => {
  for (const { name, liar, account, lie } of LIES) {
    test(`${name}: never served; the true block, its transactions and receipts are, and the liar is disputed`, async (t) => {
      const proxy = net.proxies.get(liar)!;
      let lies = 0;
      await proxy.setFault({
        fault: {
          kind: "rewrite",
          fn: (request, response) => {
            const result = (response as { result?: unknown }).result;
            if (result === null || typeof result !== "object") return response;
            const lied = lie(result as Json, (request.params as unknown[])[1] === true);
            if (!lied) return response;
            lies++;
            return { ...(response as object), result: lied };
          },
        },
        methods: ["eth_getBlockByHash"],
      });
      t.after(() => proxy.clearFault());
      // The honest upstreams answer bodies a little later, so the router keeps choosing the liar (the fastest) even
      // once its first lie has cost it: otherwise it may not be asked again within MAX_BLOCKS.
      for (const [id, honest] of net.proxies) {
        if (id === liar) continue;
        await honest.setFault({ fault: { kind: "latency", ms: HONEST_DELAY_MS }, methods: ["eth_getBlockByHash"] });
        t.after(() => honest.clearFault());
      }
      const logsBefore = net.logs.length;
      let wrong = 0;
      let failed = 0;
      const failures: string[] = [];
      const judge = (what: string, reply: Awaited<ReturnType<TestNetwork["rpc"]>>, truth: unknown, proof = true) => {
        if (reply.body.error) {
          failed++;
          failures.push(`${what}: ${reply.body.error.code} ${reply.body.error.message}`);
        } else if (JSON.stringify(reply.body.result) !== JSON.stringify(truth)) {
          wrong++;
          failures.push(`${what}: differs from the node's`);
        } else if (proof && reply.headers.get("multihome-verified") !== "proof") {
          wrong++;
          failures.push(`${what}: labelled ${reply.headers.get("multihome-verified")}`);
        }
      };
      // Which upstream fetches a block's body is the router's choice: fresh blocks (a bounded number) until the liar
      // has been asked for some.
      for (let i = 0; i < MAX_BLOCKS && lies < LIES_WANTED; i++) {
        const { hash, block } = await transferInNewBlock(account, BigInt(i + 1));
        const tag = `0x${block.toString(16)}`;
        for (const full of [true, false]) {
          const reply = await net.rpc("eth_getBlockByNumber", [tag, full]);
          judge(`block ${block} (${full})`, reply, await net.direct("eth_getBlockByNumber", [tag, full]));
        }
        judge(
          `receipt in ${block}`,
          await net.rpc("eth_getTransactionReceipt", [hash]),
          await net.direct("eth_getTransactionReceipt", [hash]),
        );
        judge(
          `transaction in ${block}`,
          await net.rpc("eth_getTransactionByHash", [hash]),
          await net.direct("eth_getTransactionByHash", [hash]),
        );
        judge(
          `receipts of ${block}`,
          await net.rpc("eth_getBlockReceipts", [tag]),
          await net.direct("eth_getBlockReceipts", [tag]),
        );
      }
      const disputes = disputesOf(liar, logsBefore);
      t.diagnostic(
        `${liar}: ${lies} lies, ${wrong} wrong answers, ${failed} failed reads, ${disputes.length} disputes; ${failures.slice(0, 3).join("; ")}`,
      );
      assert.ok(lies >= LIES_WANTED, `the liar was asked for ${LIES_WANTED} bodies (it was asked for ${lies})`);
      assert.deepEqual(failures, []);
      assert.ok(
        disputes.some((l) => l.includes("block body")),
        "the liar is disputed for the body",
      );
      assert.deepEqual(
        upstreamsOf()
          .filter((u) => u.cordoned && u.id !== liar)
          .map((u) => u.id),
        [],
        "no honest upstream is cordoned",
      );
    });
  }
});

/** The header as after a fork this code predates: a field it does not know in the place of `requestsHash`. */
function withUnknownField(response: unknown): unknown {
  const result = (response as { result?: unknown }).result as Json | null | undefined;
  if (!result || typeof result !== "object" || !("requestsHash" in result)) return response;
  const { requestsHash, ...rest } = result;
  return { ...(response as object), result: { ...rest, blockAccessListHash: requestsHash } };
}

describe("a header field Multihome does not know", () => {
  test("on one upstream's head polls: it is not disputed and still counts as a witness of the head", async (t) => {
    const proxy = net.proxies.get("u2")!;
    let rewritten = 0;
    await proxy.setFault({
      fault: {
        kind: "rewrite",
        fn: (request, response) => {
          if ((request.params as unknown[])[0] !== "latest") return response;
          rewritten++;
          return withUnknownField(response);
        },
      },
      methods: ["eth_getBlockByNumber"],
    });
    t.after(() => proxy.clearFault());
    const logsBefore = net.logs.length;
    const { block } = await transferInNewBlock(3, 1n);
    await waitFor(() => rewritten >= POLLS_WANTED, { timeoutMs: 10_000, what: `${POLLS_WANTED} rewritten head polls` });
    const head = net.app.engine.readiness().chains[0]!.head;
    t.diagnostic(`${rewritten} head polls with an unknown field; head ${head?.number} witnesses ${head?.witnesses}`);
    assert.deepEqual(disputesOf("u2", logsBefore), []);
    assert.deepEqual(
      upstreamsOf()
        .filter((u) => u.cordoned)
        .map((u) => u.id),
      [],
    );
    assert.equal(head?.number, block);
    assert.ok(head?.witnesses.includes("u2"), "its head report still counts");
    const balance = await net.rpc("eth_getBalance", [net.devnet.accounts[9]!.address, "latest"]);
    assert.equal(balance.body.result, await net.direct("eth_getBalance", [net.devnet.accounts[9]!.address, "latest"]));
    assert.equal(balance.headers.get("multihome-verified"), "proof");
  });

  test("on every upstream: nobody is cordoned; head, state, blocks and receipts are served as agreed by independent domains", async (t) => {
    let rewritten = 0;
    for (const proxy of net.proxies.values()) {
      await proxy.setFault({
        fault: {
          kind: "rewrite",
          fn: (_request, response) => {
            rewritten++;
            return withUnknownField(response);
          },
        },
        methods: ["eth_getBlockByNumber", "eth_getBlockByHash"],
      });
    }
    t.after(async () => {
      for (const proxy of net.proxies.values()) await proxy.clearFault();
    });
    const logsBefore = net.logs.length;
    const { hash, block } = await transferInNewBlock(4, 7n);
    await waitFor(() => rewritten >= POLLS_WANTED * 3, { timeoutMs: 10_000, what: "rewritten head polls" });
    const tag = `0x${block.toString(16)}`;
    const recipient = net.devnet.accounts[9]!.address;

    const balance = await net.rpc("eth_getBalance", [recipient, tag]);
    assert.equal(
      balance.body.result,
      await net.direct("eth_getBalance", [recipient, tag]),
      JSON.stringify(balance.body),
    );
    assert.equal(balance.headers.get("multihome-verified"), "quorum");
    for (const full of [true, false]) {
      const reply = await net.rpc("eth_getBlockByNumber", [tag, full]);
      const truth = withUnknownField({ result: await net.direct("eth_getBlockByNumber", [tag, full]) }) as Json;
      assert.deepEqual(reply.body.result, truth.result, JSON.stringify(reply.body.error));
      assert.equal(reply.headers.get("multihome-verified"), "quorum");
    }
    const receipt = await net.rpc("eth_getTransactionReceipt", [hash]);
    assert.deepEqual(receipt.body.result, await net.direct("eth_getTransactionReceipt", [hash]));
    assert.equal(receipt.headers.get("multihome-verified"), "quorum");
    // By hash, before the block is anchored for any other read: anchored at the number it states, then served.
    const { hash: later, block: laterBlock } = await transferInNewBlock(4, 9n);
    const blockHash = ((await net.direct("eth_getBlockByNumber", [`0x${laterBlock.toString(16)}`, false])) as Json)
      .hash;
    const byHash = await net.rpc("eth_getBlockByHash", [blockHash, true]);
    const byHashTruth = withUnknownField({ result: await net.direct("eth_getBlockByHash", [blockHash, true]) }) as Json;
    assert.deepEqual(byHash.body.result, byHashTruth.result, JSON.stringify(byHash.body.error));
    assert.equal(byHash.headers.get("multihome-verified"), "quorum");
    const tx = await net.rpc("eth_getTransactionByHash", [later]);
    assert.deepEqual(tx.body.result, await net.direct("eth_getTransactionByHash", [later]));
    assert.equal(tx.headers.get("multihome-verified"), "quorum");

    const { block: next } = await transferInNewBlock(4, 8n);
    t.diagnostic(`${rewritten} rewritten headers; the head moved on to ${next}`);
    for (const id of ["u1", "u2", "u3"]) assert.deepEqual(disputesOf(id, logsBefore), [], id);
    assert.deepEqual(
      upstreamsOf()
        .filter((u) => u.cordoned)
        .map((u) => u.id),
      [],
    );
    assert.equal(net.app.engine.readiness().ready, true);
  });
});
