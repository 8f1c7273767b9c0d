/**
 * Proven blocks, transactions and receipts on real anvil nodes: answers equal what the nodes hold, carry
 * `multihome-verified: proof`, and survive an upstream that rewrites them or a node that lags behind.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, createWalletClient, defineChain, type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { EMITTER_INIT, REVERTER_INIT } from "./harness/contracts.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";

let net: TestNetwork;
let block: number;
const hashes: Hex[] = [];

function walletOf(index: number) {
  const chain = defineChain({
    id: net.chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [net.rpcUrl] } },
  });
  return createWalletClient({
    account: privateKeyToAccount(net.devnet.accounts[index]!.privateKey),
    chain,
    transport: http(net.devnet.nodes[0]!.url),
  });
}

/** Signs with viem and submits through the devnet (every node hears of it); mined by the next `mine()`. */
async function send(index: number, request: Parameters<ReturnType<typeof walletOf>["signTransaction"]>[0]) {
  const wallet = walletOf(index);
  const prepared = await wallet.prepareTransactionRequest(request as never);
  const raw = await wallet.signTransaction(prepared as never);
  return await net.devnet.sendRawTransaction(raw);
}

before(async () => {
  net = await startTestNetwork({ config: { verification: { disputesToCordon: 3 } } });
  const to = net.devnet.accounts[9]!.address;
  hashes.push(await send(1, { to, value: 1n, type: "legacy" }));
  hashes.push(await send(2, { to, value: 2n, type: "eip2930", accessList: [] }));
  hashes.push(await send(3, { to, value: 3n, type: "eip1559" }));
  hashes.push(await send(4, { data: EMITTER_INIT, type: "eip1559" }));
  hashes.push(await send(5, { data: REVERTER_INIT, type: "eip1559", gas: 100_000n }));
  block = await net.devnet.mine();
  await net.synced();
});
after(async () => {
  await net?.stop();
});

describe("proven blocks, transactions and receipts", () => {
  test("receipts equal the node's, are proven against the anchored block, and include logs and a revert", async () => {
    for (const hash of hashes) {
      const r = await net.rpc("eth_getTransactionReceipt", [hash]);
      assert.deepEqual(r.body.result, await net.direct("eth_getTransactionReceipt", [hash]), hash);
      assert.equal(r.headers.get("multihome-verified"), "proof");
      assert.equal(r.headers.get("multihome-block"), String(block));
    }
    const statuses = await Promise.all(
      hashes.map(
        async (h) => ((await net.rpc("eth_getTransactionReceipt", [h])).body.result as { status: string }).status,
      ),
    );
    assert.deepEqual(statuses, ["0x1", "0x1", "0x1", "0x1", "0x0"]);
    const emitter = (await net.rpc("eth_getTransactionReceipt", [hashes[3]])).body.result as { logs: unknown[] };
    assert.equal(emitter.logs.length, 1);
  });

  test("blocks by number and by hash, with and without transactions, equal the node's", async () => {
    const tag = `0x${block.toString(16)}`;
    for (const full of [true, false]) {
      const byNumber = await net.rpc("eth_getBlockByNumber", [tag, full]);
      assert.deepEqual(byNumber.body.result, await net.direct("eth_getBlockByNumber", [tag, full]));
      assert.equal(byNumber.headers.get("multihome-verified"), "proof");
      const hash = (byNumber.body.result as { hash: string }).hash;
      const byHash = await net.rpc("eth_getBlockByHash", [hash, full]);
      assert.deepEqual(byHash.body.result, byNumber.body.result);
      assert.equal(byHash.headers.get("multihome-verified"), "proof");
    }
    const receipts = await net.rpc("eth_getBlockReceipts", [tag]);
    assert.deepEqual(receipts.body.result, await net.direct("eth_getBlockReceipts", [tag]));
    assert.equal(receipts.headers.get("multihome-verified"), "proof");
  });

  test("transactions by hash equal the node's; unknown hashes are null", async () => {
    for (const hash of hashes) {
      const r = await net.rpc("eth_getTransactionByHash", [hash]);
      assert.deepEqual(r.body.result, await net.direct("eth_getTransactionByHash", [hash]));
      assert.equal(r.headers.get("multihome-verified"), "proof");
    }
    const unknown = `0x${"ab".repeat(32)}`;
    for (const [method, params] of [
      ["eth_getTransactionReceipt", [unknown]],
      ["eth_getTransactionByHash", [unknown]],
      ["eth_getBlockByHash", [unknown, false]],
    ] as const) {
      const r = await net.rpc(method, [...params]);
      assert.equal(r.body.result, null, method);
      // Absence is two independent domains' word, not one's.
      assert.equal(r.headers.get("multihome-verified"), "quorum", method);
    }
  });

  test("viem reads receipts, transactions and blocks through Multihome", async () => {
    const client = createPublicClient({ transport: http(net.rpcUrl) });
    const receipt = await client.getTransactionReceipt({ hash: hashes[3]! });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.logs[0]!.data, `0x${"2a".padStart(64, "0")}`);
    const tx = await client.getTransaction({ hash: hashes[2]! });
    assert.equal(tx.value, 3n);
    const full = await client.getBlock({ blockNumber: BigInt(block), includeTransactions: true });
    assert.equal(full.transactions.length, hashes.length);
  });
});

describe("laggards and liars", () => {
  test("a node behind the head is never asked for a receipt, so no null receipt for a mined transaction is served", async (t) => {
    const lagging = "u3";
    net.devnet.pause(lagging);
    t.after(() => net.devnet.resume(lagging));
    net.resetStats();
    let nulls = 0;
    for (let i = 0; i < 10; i++) {
      const hash = await send(7, { to: net.devnet.accounts[8]!.address, value: 1n, type: "eip1559" });
      await net.devnet.mine();
      await net.synced();
      const r = await net.rpc("eth_getTransactionReceipt", [hash]);
      if (r.body.result === null || r.body.error) nulls++;
    }
    const receiptCalls = (id: string) => net.proxies.get(id)!.stats().byMethod.eth_getTransactionReceipt ?? 0;
    const askedLagging = receiptCalls(lagging);
    // The others were asked: a count of zero for the lagging node means something only if receipts are asked at all.
    const askedOthers = net.devnet.nodes
      .filter((n) => n.id !== lagging)
      .reduce((sum, n) => sum + receiptCalls(n.id), 0);
    t.diagnostic(
      `lagging node: ${nulls} null or failed receipts, ${askedLagging} receipt calls to it, ${askedOthers} to the others`,
    );
    assert.equal(nulls, 0);
    assert.ok(askedOthers > 0, "no upstream was asked for a receipt");
    assert.equal(askedLagging, 0);
  });

  test("an upstream that rewrites receipts, transactions or blocks is never believed, and is cordoned", async (t) => {
    const liar = net.proxies.get("u2")!;
    let lies = 0;
    await liar.setFault({
      fault: {
        kind: "rewrite",
        fn: (request, response) => {
          const result = (response as { result?: unknown }).result;
          if (result === null || result === undefined) return response;
          lies++;
          if (request.method === "eth_getBlockReceipts") {
            const receipts = structuredClone(result) as { status: string }[];
            if (receipts[0]) receipts[0].status = receipts[0].status === "0x1" ? "0x0" : "0x1";
            return { ...(response as object), result: receipts };
          }
          if (request.method === "eth_getBlockByHash") {
            const b = structuredClone(result) as { transactions: { value?: string }[] };
            const first = b.transactions[0];
            if (first && typeof first === "object") first.value = "0xdead";
            return { ...(response as object), result: b };
          }
          // A receipt or transaction placed in another block: the anchored block shows it is not there.
          return { ...(response as object), result: { ...(result as object), blockNumber: "0x1" } };
        },
      },
      methods: ["eth_getBlockReceipts", "eth_getBlockByHash", "eth_getTransactionReceipt", "eth_getTransactionByHash"],
    });
    t.after(() => liar.clearFault());
    // Fresh blocks, so each read needs fresh bodies and receipts (verified ones are kept by block hash).
    const sent: Hex[] = [];
    for (let i = 0; i < 12; i++) {
      sent.push(await send(6, { to: net.devnet.accounts[8]!.address, value: BigInt(i + 1), type: "eip1559" }));
      await net.devnet.mine();
    }
    await net.synced();
    let wrong = 0;
    let failed = 0;
    for (const hash of sent) {
      const truth = await net.direct("eth_getTransactionReceipt", [hash]);
      const r = await net.rpc("eth_getTransactionReceipt", [hash]);
      if (r.body.error) failed++;
      else if (JSON.stringify(r.body.result) !== JSON.stringify(truth)) wrong++;
      const tx = await net.rpc("eth_getTransactionByHash", [hash]);
      if (
        !tx.body.error &&
        JSON.stringify(tx.body.result) !== JSON.stringify(await net.direct("eth_getTransactionByHash", [hash]))
      )
        wrong++;
    }
    const cordon = () => net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u2")!.cordonReason;
    // Which upstream a read goes to is the router's choice: keep reading fresh blocks (a bounded number) until the
    // liar has been asked often enough to be cordoned.
    for (let i = 0; i < 48 && !cordon(); i++) {
      const hash = await send(6, { to: net.devnet.accounts[8]!.address, value: BigInt(100 + i), type: "eip1559" });
      await net.devnet.mine();
      await net.synced();
      const r = await net.rpc("eth_getTransactionReceipt", [hash]);
      if (r.body.error) failed++;
      else if (JSON.stringify(r.body.result) !== JSON.stringify(await net.direct("eth_getTransactionReceipt", [hash])))
        wrong++;
    }
    const u2 = net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u2")!;
    t.diagnostic(
      `rewriting upstream: ${lies} lies, ${wrong} wrong answers, ${failed} failed reads, cordon: ${u2.cordonReason}`,
    );
    assert.equal(wrong, 0);
    assert.ok(lies > 0, "the liar was asked");
    assert.ok(net.logs.some((l) => l.includes("answer failed verification") && l.includes('"upstream":"u2"')));
    assert.ok(u2.cordonReason, "the liar is cordoned");
  });
});
