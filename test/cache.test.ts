/**
 * The answer cache on real anvil nodes: identical reads share one upstream call, cached answers cost none, nothing
 * unverified or failed is ever cached, and reorgs of depth 1, 3 and 7 leave no answer from an orphaned block.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EMITTER_INIT } from "./harness/contracts.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

let net: TestNetwork;
let transfer: ReturnType<typeof devSender>;

before(async () => {
  // Finality 8 blocks deep (deeper than the deepest reorg here), so tests can put data on both sides of it.
  // Log ranges wider than 3 blocks are split into chunks, each agreed by independent domains (the `quorum` policy:
  // proven logs are test/verified-logs.test.ts's).
  net = await startTestNetwork({
    config: {
      cache: { finalityDepth: 8, unfinalizedTtlMs: 60_000 },
      logs: { chunkBlocks: 3, maxBlockRange: 40, chunkConcurrency: 2 },
      verification: { methods: { eth_getLogs: "quorum" } },
    },
  });
  // Dev account 7: no other test of this file signs with it.
  transfer = devSender(net, 7);
  await net.devnet.mine(10);
  await net.synced();
});
after(async () => {
  await net?.stop();
});

describe("cache", () => {
  test("identical concurrent reads share one upstream call; a final answer is then served with none", async () => {
    const address = net.devnet.accounts[3]!.address;
    net.resetStats();
    const replies = await Promise.all(Array.from({ length: 50 }, () => net.rpc("eth_getBalance", [address, "0x2"])));
    const values = new Set(replies.map((r) => r.body.result));
    assert.equal(values.size, 1);
    assert.ok(replies.every((r) => r.headers.get("multihome-verified") === "proof"));
    assert.equal(net.upstreamRequests("eth_getProof"), 1, "one proof for fifty identical reads");
    net.resetStats();
    const again = await net.rpc("eth_getBalance", [address, "0x2"]);
    assert.equal(again.body.result, replies[0]!.body.result);
    assert.equal(again.headers.get("multihome-verified"), "proof", "evidence is cached with the answer");
    // Head polls go on meanwhile: what must not be asked is the proof.
    assert.equal(net.upstreamRequests("eth_getProof"), 0, "served from the cache");
  });

  test("a cached answer is written as it was first served, byte for byte, whatever the request's id", async () => {
    const post = async (id: unknown) => {
      const res = await fetch(net.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method: "eth_getBlockByNumber", params: ["0x4", false] }),
      });
      return {
        text: await res.text(),
        verified: res.headers.get("multihome-verified"),
        block: res.headers.get("multihome-block"),
      };
    };
    net.resetStats();
    const first = await post(7);
    assert.ok(net.upstreamRequests() > 0, "the first read is asked upstream");
    net.resetStats();
    const again = await post(7);
    assert.equal(net.upstreamRequests(), 0, "served from the cache");
    assert.equal(again.text, first.text);
    assert.deepEqual([again.verified, again.block], [first.verified, first.block]);
    assert.equal(first.verified, "proof");
    const { result } = JSON.parse(first.text) as { result: unknown };
    for (const id of ['a "quoted" id', null, 2 ** 40]) {
      const hit = await post(id);
      assert.equal(hit.text, JSON.stringify({ jsonrpc: "2.0", id, result }));
    }
  });

  test("errors and unverifiable answers are never cached", async () => {
    const tag = "0x3";
    const forge = (_req: unknown, response: unknown) => {
      const r = response as { result?: Record<string, unknown> | null };
      return r.result ? { ...r, result: { ...r.result, stateRoot: `0x${"11".repeat(32)}` } } : response;
    };
    for (const p of net.proxies.values())
      await p.setFault({
        fault: { kind: "rewrite", fn: forge },
        methods: ["eth_getBlockByHash", "eth_getBlockByNumber"],
      });
    const forged = await net.rpc("eth_getBlockByNumber", [tag, false]);
    assert.equal(forged.body.error?.code, -32002, JSON.stringify(forged.body).slice(0, 300));
    for (const p of net.proxies.values())
      await p.setFault({
        fault: { kind: "rpcError", code: -32000, message: "internal" },
        methods: ["eth_getBlockByHash"],
      });
    const failed = await net.rpc("eth_getBlockByNumber", [tag, false]);
    assert.ok(failed.body.error, "an error, not a block");
    for (const p of net.proxies.values()) await p.clearFault();
    const good = await net.rpc("eth_getBlockByNumber", [tag, false]);
    assert.equal((good.body.result as { number: string }).number, tag, JSON.stringify(good.body).slice(0, 300));
    assert.notEqual((good.body.result as { stateRoot: string }).stateRoot, `0x${"11".repeat(32)}`);
    assert.equal(good.headers.get("multihome-verified"), "proof");
  });

  for (const depth of [1, 3, 7]) {
    test(`a reorg of depth ${depth}: no answer from an orphaned block, no cache hit for an orphaned hash`, async (t) => {
      // A transaction mined in the block the reorg will orphan first.
      const tx = await transfer();
      await net.devnet.mine(depth);
      await net.synced();
      const head = net.devnet.head();
      const first = head - depth + 1;
      const before = new Map<number, string>();
      // Fill the cache with answers about the blocks about to be orphaned.
      for (let n = first; n <= head; n++) {
        const block = (await net.rpc("eth_getBlockByNumber", [`0x${n.toString(16)}`, false])).body.result as {
          hash: string;
        };
        before.set(n, block.hash);
        await net.rpc("eth_getBlockByHash", [block.hash, true]);
        await net.rpc("eth_getBalance", [net.devnet.accounts[8]!.address, `0x${n.toString(16)}`]);
      }
      const receiptBefore = (await net.rpc("eth_getTransactionReceipt", [tx])).body.result as { blockHash: string };
      assert.equal(receiptBefore.blockHash, before.get(first));

      const reorg = await net.devnet.reorg(depth);
      assert.deepEqual(reorg.orphaned, [...before.values()]);
      await waitFor(() => net.app.engine.readiness().chains[0]!.head?.hash === reorg.replacements.at(-1), {
        timeoutMs: 5_000,
        what: "the new branch to be agreed",
      });
      // Every block of the new branch is served, and nothing of the old one.
      for (let n = first; n <= head; n++) {
        const r = await net.rpc("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]);
        assert.equal((r.body.result as { hash: string }).hash, reorg.replacements[n - first], `block ${n}`);
      }
      for (const orphan of reorg.orphaned) {
        const r = await net.rpc("eth_getBlockByHash", [orphan, true]);
        assert.equal(r.body.result, null, `orphaned ${orphan} served: ${JSON.stringify(r.body).slice(0, 120)}`);
      }
      const receipt = (await net.rpc("eth_getTransactionReceipt", [tx])).body.result as { blockHash: string };
      assert.equal(receipt.blockHash, reorg.replacements[0], "the receipt moved to the new branch");
      const balance = await net.rpc("eth_getBalance", [net.devnet.accounts[8]!.address, `0x${head.toString(16)}`]);
      assert.equal(balance.headers.get("multihome-verified"), "proof");
      t.diagnostic(`reorg depth ${depth}: ${reorg.orphaned.length} orphaned blocks, none served afterwards`);
    });
  }

  test("a wide log range is split into chunks, merged in order; one failed chunk fails it all; too wide is refused", async () => {
    const from = net.devnet.head() + 1;
    for (let i = 0; i < 8; i++) {
      await transfer({ data: EMITTER_INIT });
      await net.devnet.mine();
    }
    await net.synced();
    const to = net.devnet.head();
    const filter = { fromBlock: `0x${from.toString(16)}`, toBlock: `0x${to.toString(16)}` };
    const truth = await fetch(net.devnet.nodes[0]!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getLogs", params: [filter] }),
    }).then(async (r) => ((await r.json()) as { result: unknown[] }).result);
    assert.equal(truth.length, 8);
    net.resetStats();
    const logs = await net.rpc("eth_getLogs", [filter]);
    assert.deepEqual(logs.body.result, truth);
    // Logs are agreed by two independent domains (as configured): two upstream calls per chunk.
    assert.equal(net.upstreamRequests("eth_getLogs"), 2 * Math.ceil((to - from + 1) / 3), "one quorum per chunk");

    // Every upstream fails a middle chunk of a (not yet cached) wider range: the whole request fails, never a
    // partial list. Its chunks start at from-1, from+2, from+5.
    const middle = `0x${(from + 2).toString(16)}`;
    for (const p of net.proxies.values())
      await p.setFault({
        fault: {
          kind: "rewrite",
          fn: (request, response) =>
            (request.params as { fromBlock?: string }[])[0]?.fromBlock === middle
              ? { jsonrpc: "2.0", id: (response as { id: unknown }).id, error: { code: -32000, message: "boom" } }
              : response,
        },
        methods: ["eth_getLogs"],
      });
    try {
      const wider = { fromBlock: `0x${(from - 1).toString(16)}`, toBlock: filter.toBlock };
      const failed = await net.rpc("eth_getLogs", [wider]);
      assert.equal(failed.body.result, undefined, "no partial result");
      assert.ok(failed.body.error, JSON.stringify(failed.body).slice(0, 200));
    } finally {
      for (const p of net.proxies.values()) await p.clearFault();
    }
    const tooWide = await net.rpc("eth_getLogs", [{ fromBlock: "0x0", toBlock: `0x${(41).toString(16)}` }]);
    assert.equal(tooWide.body.error?.code, -32602);
    assert.match(tooWide.body.error!.message, /wider than the limit of 40/);
  });
});
