/** The embedded Solana client: `@solana/kit` over createSolanaMultihome's transport, straight to litesvm nodes. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createSolanaRpcFromTransport, generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { createSolanaMultihome, type SolanaMultihome } from "../src/client/index.ts";
import { firstSignature, transactionBytes } from "../src/core/solana/transaction.ts";
import { type SolanaCluster, startSolanaCluster } from "../src/devnet/solana/cluster.ts";
import { signedTransfer } from "../src/devnet/solana/testing.ts";
import { THREE_DOMAINS } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

let cluster: SolanaCluster;
let mh: SolanaMultihome;
let wallet: KeyPairSigner;

before(async () => {
  wallet = await generateKeyPairSigner();
  cluster = await startSolanaCluster({
    name: "embedded",
    nodes: THREE_DOMAINS,
    finalizedDepth: 2,
    accounts: [{ address: wallet.address, lamports: 50_000_000_000n }],
  });
  await cluster.produceSlots(3);
  mh = createSolanaMultihome({
    cluster: "embedded",
    upstreams: cluster.nodes.map((n) => ({ id: n.id, url: n.url, domain: n.domain })),
    settings: { health: { headPollIntervalMs: 100 } },
  });
  assert.equal((await mh.ready()).ready, true);
});
after(async () => {
  await mh?.close();
  await cluster?.stop();
});

test("kit over the embedded transport: a balance agreed by independent domains, and a transfer that lands", async () => {
  const rpc = createSolanaRpcFromTransport(mh.transport);
  const { value } = await rpc.getBalance(wallet.address, { commitment: "processed" }).send();
  assert.equal(value, 50_000_000_000n);
  const checked = await mh.call("getBalance", [wallet.address, { commitment: "processed" }]);
  assert.equal(checked.evidence.verified, "quorum");
  assert.equal(checked.evidence.domains?.length, 2);
  assert.equal(await rpc.getGenesisHash().send(), cluster.genesisHash);

  const to = (await generateKeyPairSigner()).address;
  const { value: latest } = await rpc.getLatestBlockhash({ commitment: "processed" }).send();
  const wire = await signedTransfer({ from: wallet, to, lamports: 1_000_000_000n, blockhash: latest.blockhash });
  const signature = await rpc.sendTransaction(wire as never, { encoding: "base64" }).send();
  assert.equal(signature, firstSignature(transactionBytes(wire, { encoding: "base64" })!));
  await cluster.produceSlots(1);
  await waitFor(async () => (await rpc.getBalance(to, { commitment: "processed" }).send()).value === 1_000_000_000n, {
    timeoutMs: 5_000,
    what: "the transfer to land",
  });
  const unknown = await mh.call("getBalance", [to, { commitment: "soon" }]);
  assert.equal(unknown.ok, false);
  await mh.close();
  const closed = await mh.call("getSlot");
  assert.deepEqual([closed.ok, !closed.ok && closed.error.code], [false, -32099]);
});
