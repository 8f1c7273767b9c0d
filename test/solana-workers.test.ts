/**
 * A Solana cluster served by a gateway of two workers (`server.workers: 2`) over litesvm nodes in three independent
 * domains: a slot one worker served is never gone back on by the other, and a transaction a worker recorded is sent
 * on by the worker forked in its place after it is killed with SIGKILL.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { type RunningPrimary, startPrimary } from "../src/app/workers/primary.ts";
import { loadConfigFile } from "../src/config/load.ts";
import { createRpcClient } from "../src/devnet/rpc.ts";
import { type SolanaCluster, startSolanaCluster } from "../src/devnet/solana/cluster.ts";
import { signatureOf, signedTransfer } from "../src/devnet/solana/testing.ts";
import { type FaultProxy, startFaultProxy } from "./harness/fault-proxy.ts";
import { THREE_DOMAINS } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";
import { WORKER_CLIENTS, type WorkerCaller, workerClients } from "./harness/worker-clients.ts";

const WORKERS = 2;
let cluster: SolanaCluster;
let primary: RunningPrimary;
let payer: KeyPairSigner;
const proxies = new Map<string, FaultProxy>();
let dir: string;

before(async () => {
  payer = await generateKeyPairSigner();
  cluster = await startSolanaCluster({
    name: "localnet",
    nodes: THREE_DOMAINS,
    finalizedDepth: 4,
    accounts: [{ address: payer.address, lamports: 100_000_000_000n }],
  });
  await cluster.produceSlots(6);
  for (const node of cluster.nodes) proxies.set(node.id, await startFaultProxy({ target: node.url }));
  dir = mkdtempSync(join(tmpdir(), "multihome-solana-workers-"));
  const file = join(dir, "multihome.json");
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: "127.0.0.1", port: 0, workers: WORKERS, shutdownGraceMs: 2_000 },
      store: { kind: "sqlite", path: join(dir, "store.db") },
      log: { level: "warn" },
      health: { headPollIntervalMs: 250 },
      transactions: { rebroadcastIntervalMs: 200 },
      chains: [
        {
          family: "solana",
          name: "localnet",
          upstreams: cluster.nodes.map((n) => ({ id: n.id, url: proxies.get(n.id)!.url, domain: n.domain })),
        },
      ],
    }),
  );
  primary = await startPrimary(await loadConfigFile(file), file, WORKERS);
  for (const client of WORKER_CLIENTS) {
    const c = caller(client);
    await waitFor(async () => (await c.call("getSlot")).ok, { timeoutMs: 10_000, what: `${client} served` });
    await c.agent.close();
  }
});

after(async () => {
  await primary?.stop();
  for (const proxy of proxies.values()) await proxy.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const { caller, callerOn } = workerClients(
  () => primary,
  () => "/rpc/solana/localnet",
  "getSlot",
);

test("a slot one worker served is never gone back on by the other: a client moved between workers sees it rise", async (t) => {
  const [first, second] = [await callerOn(0), await callerOn(1)];
  const slotOf = async (c: WorkerCaller) => {
    const r = await c.call("getSlot", [{ commitment: "processed" }]);
    return r.ok ? (r.result as number) : -1;
  };
  const behind: string[] = [];
  // Each worker polls its upstreams on its own phase: without the siblings' slots, some rounds would go back.
  for (let round = 0; round < 12; round++) {
    const slot = await cluster.produceSlots(1);
    const seen = await waitFor(
      async () => {
        const s = await slotOf(first);
        return s >= slot ? s : undefined;
      },
      { timeoutMs: 10_000, what: `${first.client}'s worker to agree on slot ${slot}` },
    );
    const then = await slotOf(second);
    if (then < seen) behind.push(`round ${round}: ${first.client} saw ${seen}, then ${second.client} saw ${then}`);
  }
  await first.agent.close();
  await second.agent.close();
  t.diagnostic(`${behind.length} slots gone back`);
  assert.deepEqual(behind, []);
});

test("a transaction a worker recorded is not lost when it is killed: the worker forked in its place sends it", async () => {
  const victim = 1;
  const to = (await generateKeyPairSigner()).address;
  // The truth, straight from a node.
  const direct = createRpcClient(cluster.nodes[0]!.url).call;
  const { value } = (await direct("getLatestBlockhash", [{ commitment: "confirmed" }])) as {
    value: { blockhash: string };
  };
  const wire = await signedTransfer({ from: payer, to, lamports: 1_500_000_000n, blockhash: value.blockhash });
  const signature = signatureOf(wire);
  // Every provider says it took the transaction, and drops it; then the worker that recorded it dies.
  for (const p of proxies.values())
    await p.setFault({
      fault: { kind: "status", status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: signature }) },
      methods: ["sendTransaction"],
    });
  const c = await callerOn(victim);
  const sent = await c.call("sendTransaction", [wire, { encoding: "base64" }]);
  await c.agent.close();
  assert.equal(sent.result, signature);
  const oldPid = primary.workerPids()[victim]!;
  process.kill(oldPid, "SIGKILL");
  for (const p of proxies.values()) await p.clearFault();
  await waitFor(() => (primary.workerPids()[victim] ?? oldPid) !== oldPid, { timeoutMs: 10_000, what: "forked again" });
  // Forked again, it reopens its store and sends the transaction on: it lands, once.
  await waitFor(
    async () => {
      await cluster.produceSlots(1);
      const balance = (await direct("getBalance", [to, { commitment: "finalized" }])) as { value: number };
      return balance.value > 0 ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 300, what: "the recorded transaction finalized after the worker's restart" },
  );
  await cluster.produceSlots(6);
  const balance = (await direct("getBalance", [to, { commitment: "finalized" }])) as { value: number };
  assert.equal(balance.value, 1_500_000_000, "moved exactly once");
});
