/**
 * Solana subscriptions over WebSocket at /rpc/solana/localnet, served from the agreed view: every slot once and in
 * order though an upstream dies mid-stream, an account's change, and a signature reaching its commitment.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { generateKeyPairSigner } from "@solana/kit";
import WebSocket from "ws";
import { firstSignature, transactionBytes } from "../src/core/solana/transaction.ts";
import { signedTransfer } from "../src/devnet/solana/testing.ts";
import { type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";
import { waitFor } from "./harness/wait.ts";

let net: SolanaTestNetwork;
before(async () => {
  net = await startSolanaTestNetwork();
  await net.advance(2);
});
after(() => net?.stop());

interface Notification {
  method: string;
  params: { subscription: number; result: unknown };
}

/** A WebSocket client of the gateway that keeps every message. */
async function connect(): Promise<{
  ws: WebSocket;
  messages: Record<string, unknown>[];
  call(method: string, params: unknown[]): Promise<unknown>;
}> {
  const ws = new WebSocket(net.rpcUrl.replace("http://", "ws://"));
  const messages: Record<string, unknown>[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  return {
    ws,
    messages,
    async call(method, params) {
      const mine = ++id;
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: mine, method, params }));
      await waitFor(() => messages.some((m) => m.id === mine), { timeoutMs: 5_000, what: `the answer to ${method}` });
      const answer = messages.find((m) => m.id === mine)!;
      if (answer.error) throw new Error(JSON.stringify(answer.error));
      return answer.result;
    },
  };
}

const notifications = (messages: Record<string, unknown>[], method: string) =>
  messages.filter((m) => m.method === method) as unknown as Notification[];

test("slotSubscribe: every slot once and in order, though an upstream dies mid-stream; unsubscribe stops it", async () => {
  const client = await connect();
  try {
    const id = (await client.call("slotSubscribe", [])) as number;
    assert.equal(typeof id, "number");
    const start = net.cluster.slot();
    await net.advance(3);
    await net.cluster.kill("u2");
    await net.advance(3);
    await net.cluster.restart("u2");
    const end = await net.advance(3);
    await waitFor(
      () =>
        notifications(client.messages, "slotNotification").some(
          (n) => (n.params.result as { slot: number }).slot === end,
        ),
      {
        timeoutMs: 5_000,
        what: `slot ${end} notified`,
      },
    );
    const slots = notifications(client.messages, "slotNotification").map(
      (n) => (n.params.result as { slot: number }).slot,
    );
    const expected = Array.from({ length: end - slots[0]! + 1 }, (_, i) => slots[0]! + i);
    assert.deepEqual(slots, expected, "no slot missing, none twice, in order");
    assert.ok(slots[0]! <= start + 1);
    assert.ok(notifications(client.messages, "slotNotification").every((n) => n.params.subscription === id));
    assert.equal(await client.call("slotUnsubscribe", [id]), true);
    const count = notifications(client.messages, "slotNotification").length;
    await net.advance(2);
    assert.equal(
      await client.call("getSlot", [{ commitment: "processed" }]),
      net.cluster.slot(),
      "calls work over the socket too",
    );
    assert.equal(notifications(client.messages, "slotNotification").length, count, "nothing after unsubscribe");
  } finally {
    client.ws.close();
  }
});

test("accountSubscribe and signatureSubscribe: a transfer is notified as its account changes and its signature confirms", async () => {
  const client = await connect();
  try {
    const to = (await generateKeyPairSigner()).address;
    const account = (await client.call("accountSubscribe", [
      to,
      { commitment: "confirmed", encoding: "base64" },
    ])) as number;
    const blockhash = (
      (await net.rpc("getLatestBlockhash", [{ commitment: "confirmed" }])).body.result as {
        value: { blockhash: string; lastValidBlockHeight: number };
      }
    ).value;
    const base64 = await signedTransfer({
      from: net.wallets[0]!,
      to,
      lamports: 2_000_000_000n,
      blockhash: blockhash.blockhash,
    });
    const signature = firstSignature(transactionBytes(base64, { encoding: "base64" })!)!;
    const sub = (await client.call("signatureSubscribe", [signature, { commitment: "confirmed" }])) as number;
    assert.notEqual(sub, account);
    await net.rpc("sendTransaction", [base64, { encoding: "base64" }]);
    await waitFor(
      async () => {
        await net.advance(1);
        return (
          notifications(client.messages, "signatureNotification").length > 0 &&
          notifications(client.messages, "accountNotification").length > 0
        );
      },
      { timeoutMs: 10_000, what: "the signature and account notifications" },
    );
    const [done] = notifications(client.messages, "signatureNotification");
    assert.deepEqual((done!.params.result as { value: unknown }).value, { err: null });
    assert.equal(done!.params.subscription, sub);
    const [changed] = notifications(client.messages, "accountNotification");
    assert.equal((changed!.params.result as { value: { lamports: number } }).value.lamports, 2_000_000_000);
    // A signature subscription ends with its notification.
    assert.equal(await client.call("signatureUnsubscribe", [sub]), false);
    assert.equal(await client.call("accountUnsubscribe", [account]), true);
  } finally {
    client.ws.close();
  }
});

test("accountSubscribe: subscribers of one account share one watcher — two sockets cost the upstreams what one does", async () => {
  const [a, b] = [await connect(), await connect()];
  try {
    const to = (await generateKeyPairSigner()).address;
    for (const c of [a, b]) await c.call("accountSubscribe", [to, { commitment: "confirmed", encoding: "base64" }]);
    for (const p of net.proxies.values()) p.resetStats();
    const slots = 5;
    await net.advance(slots);
    const reads = [...net.proxies.values()].reduce((n, p) => n + (p.stats().byMethod.getAccountInfo ?? 0), 0);
    // Two domains per agreed read, once per slot the confirmed commitment moves through (a re-ask now and then).
    assert.ok(reads <= slots * 2 + 4, `${reads} upstream reads for ${slots} slots and two subscribers`);
    const blockhash = (
      (await net.rpc("getLatestBlockhash", [{ commitment: "confirmed" }])).body.result as {
        value: { blockhash: string };
      }
    ).value.blockhash;
    const base64 = await signedTransfer({ from: net.wallets[0]!, to, lamports: 1_000_000_000n, blockhash });
    await net.rpc("sendTransaction", [base64, { encoding: "base64" }]);
    await waitFor(
      async () => {
        await net.advance(1);
        return [a, b].every((c) => notifications(c.messages, "accountNotification").length > 0);
      },
      { timeoutMs: 10_000, what: "both subscribers notified" },
    );
    const [first, second] = [a, b].map((c) => notifications(c.messages, "accountNotification")[0]!.params.result);
    assert.deepEqual(first, second);
  } finally {
    a.ws.close();
    b.ws.close();
  }
});
