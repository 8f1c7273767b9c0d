/**
 * Block bodies are what was asked for, on real anvil nodes behind fault proxies. One upstream answers full blocks with
 * transaction hashes instead of objects, or leaves out the withdrawals its header commits to: that body is never
 * served, the client gets the true block as `proof`, the block's transactions and receipts are still served, and the
 * liar is disputed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createWalletClient, defineChain, type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";

type Json = Record<string, unknown>;

/** Fresh blocks read at most, per liar, until it has been asked often enough. */
const MAX_BLOCKS = 30;
/** Answers the liar must have given before the test judges what clients saw. */
const LIES_WANTED = 2;

let net: TestNetwork;

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

/** One value transfer from dev account `index`, mined in a block of its own; its hash and block number. */
async function transferInNewBlock(index: number, value: bigint): Promise<{ hash: Hex; block: number }> {
  const wallet = walletOf(index);
  const prepared = await wallet.prepareTransactionRequest({
    to: net.devnet.accounts[9]!.address,
    value,
    type: "eip1559",
  } as never);
  const hash = await net.devnet.sendRawTransaction(await wallet.signTransaction(prepared as never));
  const block = await net.devnet.mine();
  await net.synced();
  return { hash, block };
}

const upstreamsOf = () => net.app.gateway.readiness().chains[0]!.upstreams;
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
    lie: (block) => {
      if (!("withdrawals" in block) || !block.withdrawalsRoot) return undefined;
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
