import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createSolanaRpc, type KeyPairSigner, type Signature } from "@solana/kit";
import { type SolanaCluster, type SolanaClusterError, type SolanaClusterNode, startSolanaCluster } from "./cluster.ts";
import { SOLANA_DRIVER_RPC_TIMEOUT_MS } from "./driver-rpc.ts";
import { devnetSigner, LAMPORTS_PER_SOL, signedTransfer } from "./testing.ts";

const NODES = [
  { id: "alpha", domain: { operator: "alpha-rpc", hosting: "aws", region: "us-east-1" } },
  { id: "beta", domain: { operator: "beta-nodes", hosting: "gcp", region: "europe-west1" } },
  { id: "gamma", domain: { operator: "home", hosting: "self", region: "eu-home" } },
];
const FINALIZED_DEPTH = 4;
/** How long a condition may take to come true before a test fails, in milliseconds. */
const CONDITION_TIMEOUT_MS = 15_000;

interface NodeStatus {
  slot: number;
  blockhash: string;
  stateHash: string;
}

let cluster: SolanaCluster;
const errors: SolanaClusterError[] = [];
let alice: KeyPairSigner;
let bob: KeyPairSigner;

// biome-ignore lint/suspicious/noExplicitAny: the cases reach freely into nested answer JSON.
type Json = any;

async function post(node: SolanaClusterNode, body: unknown): Promise<Json> {
  const response = await fetch(node.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function call<T>(node: SolanaClusterNode, method: string, params: unknown[] = []): Promise<T> {
  const answer = await post(node, { jsonrpc: "2.0", id: 1, method, params });
  assert.equal(answer.error, undefined, `${node.id} ${method}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

const node = (id: string) => cluster.nodes.find((n) => n.id === id) as SolanaClusterNode;
const statusOf = (n: SolanaClusterNode) => call<NodeStatus>(n, "devnet_status");
const balanceAt = async (n: SolanaClusterNode, address: string, commitment: string) =>
  (await call<{ value: number }>(n, "getBalance", [address, { commitment }])).value;

/** Every node at the driver's slot with the same blockhash and the same state hash. */
async function assertSameState(nodes: readonly SolanaClusterNode[] = cluster.nodes): Promise<NodeStatus> {
  const statuses = await Promise.all(nodes.map(statusOf));
  const first = statuses[0] as NodeStatus;
  assert.equal(first.slot, cluster.slot());
  for (const [i, s] of statuses.entries()) {
    assert.equal(s.slot, first.slot, `slot on ${nodes[i]?.id}`);
    assert.equal(s.blockhash, first.blockhash, `blockhash on ${nodes[i]?.id}`);
    assert.equal(s.stateHash, first.stateHash, `state hash on ${nodes[i]?.id}`);
  }
  return first;
}

/** A signed transfer from `from` to a fresh account named `label`, on a processed blockhash of `via`. */
async function transferTo(label: string, from: KeyPairSigner, via: SolanaClusterNode = node("alpha")) {
  const to = (await devnetSigner(label)).address;
  const { value } = await call<{ value: { blockhash: string } }>(via, "getLatestBlockhash", [
    { commitment: "processed" },
  ]);
  return { to, tx: await signedTransfer({ from, to, lamports: LAMPORTS_PER_SOL, blockhash: value.blockhash }) };
}

/** Produces slots until `condition` holds (one slot at a time), failing after {@link CONDITION_TIMEOUT_MS}. */
async function produceUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  while (!condition()) {
    assert.ok(Date.now() < deadline, "condition not met in time");
    await cluster.produceSlots(1);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("solana cluster (3 node processes)", () => {
  before(async () => {
    [alice, bob] = (await Promise.all(["alice", "bob"].map(devnetSigner))) as [KeyPairSigner, KeyPairSigner];
    cluster = await startSolanaCluster({
      name: "cluster-test",
      nodes: NODES,
      finalizedDepth: FINALIZED_DEPTH,
      accounts: [
        { address: alice.address, lamports: 1_000n * LAMPORTS_PER_SOL },
        { address: bob.address, lamports: 1_000n * LAMPORTS_PER_SOL },
      ],
      onError: (e) => errors.push(e),
    });
  });

  after(async () => {
    const pids = cluster.nodes.map((n) => n.pid);
    await cluster.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive`);
  });

  test("every node starts at slot 0 with the same genesis, blockhash and state", async () => {
    assert.equal(cluster.slot(), 0);
    await assertSameState();
    for (const n of cluster.nodes) assert.equal(await call(n, "getGenesisHash"), cluster.genesisHash);
    assert.equal(new Set(cluster.nodes.map((n) => n.url)).size, 3);
  });

  test("a transfer signed with @solana/kit and sent to ONE node is in every node's state after the next slot", async () => {
    const rpc = createSolanaRpc(node("beta").url);
    const { value: latest } = await rpc.getLatestBlockhash({ commitment: "processed" }).send();
    const to = (await devnetSigner("kit-recipient")).address;
    const tx = await signedTransfer({ from: alice, to, lamports: 2n * LAMPORTS_PER_SOL, blockhash: latest.blockhash });
    const signature = await rpc
      .sendTransaction(tx as Parameters<typeof rpc.sendTransaction>[0], { encoding: "base64" })
      .send();
    const slot = await cluster.produceSlots();
    for (const n of cluster.nodes) {
      assert.equal(await balanceAt(n, to, "processed"), 2_000_000_000, `processed balance on ${n.id}`);
      assert.equal(await balanceAt(n, to, "finalized"), 0, `finalized balance on ${n.id}`);
    }
    const { value: balance } = await createSolanaRpc(node("gamma").url)
      .getBalance(to, { commitment: "processed" })
      .send();
    assert.equal(balance, 2_000_000_000n);
    await cluster.produceSlots(FINALIZED_DEPTH - 1);
    assert.equal(await balanceAt(node("alpha"), to, "finalized"), 0, "finalized is still before the transfer's slot");
    await cluster.produceSlots(1);
    for (const n of cluster.nodes) assert.equal(await balanceAt(n, to, "finalized"), 2_000_000_000);
    const { value: statuses } = await rpc.getSignatureStatuses([signature]).send();
    assert.equal(statuses[0]?.slot, BigInt(slot));
    await assertSameState();
  });

  test("getSignatureStatuses goes processed → confirmed → finalized on every node", async () => {
    const { tx } = await transferTo("status-recipient", bob);
    const signature = (await cluster.sendTransaction(tx)) as Signature;
    const seen = new Map<string, string[]>();
    const record = async () => {
      for (const n of cluster.nodes) {
        const { value } = await createSolanaRpc(n.url).getSignatureStatuses([signature]).send();
        const list = seen.get(n.id) ?? [];
        const status = value[0]?.confirmationStatus ?? "none";
        if (list.at(-1) !== status) list.push(status);
        seen.set(n.id, list);
      }
    };
    await record();
    for (let i = 0; i <= FINALIZED_DEPTH; i++) {
      await cluster.produceSlots();
      await record();
    }
    for (const n of cluster.nodes) assert.deepEqual(seen.get(n.id), ["none", "processed", "confirmed", "finalized"]);
  });

  test("minContextSlot above the slot answers -32016 (and @solana/kit reads it)", async () => {
    const rpc = createSolanaRpc(node("alpha").url);
    const above = BigInt(cluster.slot() + 1);
    await assert.rejects(
      rpc.getBalance(alice.address, { commitment: "processed", minContextSlot: above }).send(),
      (e: Json) => {
        assert.equal(e.context.__code, -32016);
        assert.equal(e.context.contextSlot, BigInt(cluster.slot()));
        return true;
      },
    );
    const { context } = await rpc
      .getBalance(alice.address, { commitment: "processed", minContextSlot: above - 1n })
      .send();
    assert.equal(context.slot, BigInt(cluster.slot()));
  });

  test("a batch over HTTP, and bad params answer -32602", async () => {
    const answers = await post(node("gamma"), [
      { jsonrpc: "2.0", id: 1, method: "getSlot", params: [{ commitment: "processed" }] },
      { jsonrpc: "2.0", id: 2, method: "getBalance", params: ["not-an-address"] },
      { jsonrpc: "2.0", id: 3, method: "getHealth" },
    ]);
    assert.deepEqual(answers, [
      { jsonrpc: "2.0", result: cluster.slot(), id: 1 },
      { jsonrpc: "2.0", error: { code: -32602, message: "Invalid param: Invalid" }, id: 2 },
      { jsonrpc: "2.0", result: "ok", id: 3 },
    ]);
  });

  test("a paused node misses slots without stalling the driver, and catches up when resumed", async () => {
    cluster.pause("gamma");
    const { to, tx } = await transferTo("while-paused", alice);
    await cluster.sendTransaction(tx);
    await cluster.produceSlots(3);
    assert.equal(cluster.nodeStatus("gamma").paused, true);
    for (const id of ["alpha", "beta"]) assert.equal(await balanceAt(node(id), to, "processed"), 1_000_000_000);
    await cluster.resume("gamma");
    assert.deepEqual(cluster.nodeStatus("gamma"), { paused: false, killed: false, behind: false, unresponsive: false });
    assert.equal(await balanceAt(node("gamma"), to, "processed"), 1_000_000_000);
    await assertSameState();
  });

  test("a node stopped behind the driver's back costs one timeout, then is skipped until it answers again", async () => {
    const beta = node("beta");
    process.kill(beta.pid, "SIGSTOP");
    try {
      await cluster.produceSlots(1);
      assert.deepEqual(cluster.nodeStatus("beta"), { paused: false, killed: false, behind: true, unresponsive: true });
      const started = performance.now();
      await cluster.produceSlots(3);
      assert.ok(performance.now() - started < 3 * SOLANA_DRIVER_RPC_TIMEOUT_MS, "skipped slots do not wait for it");
    } finally {
      process.kill(beta.pid, "SIGCONT");
    }
    await produceUntil(() => !cluster.nodeStatus("beta").behind);
    await assertSameState();
    assert.ok(errors.some((e) => e.code === "unreachable" && e.nodeId === "beta"));
  });

  test("a killed node, restarted fresh from genesis on the same port, replays the log to the same state", async () => {
    const beta = node("beta");
    const oldPid = beta.pid;
    await cluster.kill("beta");
    assert.equal(isAlive(oldPid), false);
    assert.equal(cluster.nodeStatus("beta").killed, true);
    const { to, tx } = await transferTo("while-killed", bob);
    const signature = await cluster.sendTransaction(tx);
    await cluster.produceSlots(2);
    await cluster.restart("beta");
    assert.notEqual(beta.pid, oldPid);
    assert.equal(isAlive(beta.pid), true);
    assert.equal(await balanceAt(beta, to, "processed"), 1_000_000_000);
    const { value } = await call<{ value: ({ slot: number } | null)[] }>(beta, "getSignatureStatuses", [[signature]]);
    assert.equal(value[0]?.slot, cluster.slot() - 1);
    await assertSameState();
  });
});

describe("solana cluster with a slot time", () => {
  test("slotTimeMs > 0 produces slots by itself until stopped", async () => {
    const signer = await devnetSigner("alice");
    const timed = await startSolanaCluster({
      name: "timed",
      nodes: [NODES[0] as (typeof NODES)[number]],
      slotTimeMs: 20,
      accounts: [{ address: signer.address, lamports: LAMPORTS_PER_SOL }],
    });
    try {
      const deadline = Date.now() + CONDITION_TIMEOUT_MS;
      // Waits on the condition (the slot reaching 5), checking every slot time.
      while (timed.slot() < 5) {
        assert.ok(Date.now() < deadline, "no slots produced");
        await delay(20);
      }
      const url = timed.nodes[0]?.url as string;
      const slot = await createSolanaRpc(url).getSlot({ commitment: "processed" }).send();
      assert.ok(slot >= 5n);
    } finally {
      await timed.stop();
    }
  });
});
