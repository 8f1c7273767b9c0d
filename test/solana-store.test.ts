/**
 * What a Solana cluster keeps in the store. The outbox: a transaction the gateway took and could not land before it was
 * restarted is sent on by the gateway that opens the store next, until it is final — and exactly once on chain. Cordons:
 * one another replica (or worker) put in the store is taken on, under the cluster's chain key `solana/{name}`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKeyPairSigner } from "@solana/kit";
import { signatureOf, signedTransfer } from "../src/devnet/solana/testing.ts";
import { type SolanaTestNetwork, startSolanaTestNetwork } from "./harness/solana-network.ts";
import { waitFor } from "./harness/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "multihome-solana-restart-"));
let net: SolanaTestNetwork;
before(async () => {
  net = await startSolanaTestNetwork({
    config: {
      store: { kind: "sqlite", path: join(dir, "state.db") },
      transactions: { rebroadcastIntervalMs: 250 },
    },
  });
  await net.advance(6);
});
after(async () => {
  await net?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function outboxStatus(signature: string): Promise<Record<string, unknown> | undefined> {
  const base = net.rpcUrl.replace(/\/rpc\/solana\/.*$/, "");
  const res = await fetch(`${base}/v1/solana/localnet/transactions/${signature}`);
  return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
}

test("a send every provider dropped before a restart is sent on after it, and lands once", async () => {
  const from = net.wallets[0]!;
  const to = (await generateKeyPairSigner()).address;
  const latest = (await net.rpc("getLatestBlockhash", [{ commitment: "confirmed" }])).body.result as {
    value: { blockhash: string };
  };
  const wire = await signedTransfer({ from, to, lamports: 2_000_000_000n, blockhash: latest.value.blockhash });
  const signature = signatureOf(wire);
  // Every provider says it took the transaction, and drops it.
  for (const p of net.proxies.values())
    await p.setFault({
      fault: { kind: "status", status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: signature }) },
      methods: ["sendTransaction"],
    });
  try {
    const sent = await net.rpc("sendTransaction", [wire, { encoding: "base64" }]);
    assert.equal(sent.body.result, signature);
    assert.equal((await outboxStatus(signature))?.status, "pending");
    await net.restart();
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  // The new gateway found it in the store: it is known before anyone sends it again, and it goes on being sent.
  const kept = await outboxStatus(signature);
  assert.equal(kept?.status, "pending", "the restarted gateway holds the transaction");
  await waitFor(
    async () => {
      await net.advance(1);
      return (await outboxStatus(signature))?.status === "finalized";
    },
    { timeoutMs: 15_000, what: "the transaction to be rebroadcast by the restarted gateway and finalized" },
  );
  const balance = await net.rpc("getBalance", [to, { commitment: "finalized" }]);
  assert.equal((balance.body.result as { value: number }).value, 2_000_000_000, "moved exactly once");
  assert.ok(((await outboxStatus(signature))?.broadcasts as number) >= 2);
});

test("a cordon another replica shared through the store is taken on: the upstream gets no traffic until it ends", async () => {
  const until = Date.now() + 60_000;
  await net.app.store.putCordon({
    chainId: "solana/localnet",
    upstreamId: "u3",
    until,
    reason: "lied to another replica",
  });
  // A cordon of an EVM chain with the same upstream id is another chain's business.
  await net.app.store.putCordon({ chainId: 1, upstreamId: "u2", until, reason: "not this cluster" });
  const u = (id: string) => net.app.engine.solanaStatus()[0]!.upstreams.find((x) => x.id === id)!;
  await waitFor(() => u("u3").cordoned, { timeoutMs: 5_000, what: "u3 cordoned from the shared store" });
  assert.match(u("u3").cordonReason ?? "", /lied to another replica/);
  assert.equal(u("u2").cordoned, false, "an EVM chain's cordon is not the cluster's");
  const balances = () => net.proxies.get("u3")!.stats().byMethod.getBalance ?? 0;
  const asked = balances();
  for (let i = 0; i < 6; i++) {
    const r = await net.rpc("getBalance", [net.wallets[0]!.address]);
    assert.equal(r.headers.get("multihome-verified"), "quorum");
  }
  assert.equal(balances(), asked, "a cordoned upstream is not asked");
});
