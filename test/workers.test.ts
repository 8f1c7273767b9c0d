/**
 * `server.workers`: a primary process holding the listener and three worker processes, on real anvil nodes in three
 * independent domains. Clients from eight loopback addresses (127.0.0.1–8) each keep calling; every connection of one
 * address lands on one worker (assign.ts). One worker is killed with SIGKILL under load: clients of the other workers
 * see no failed request, the killed worker's clients are served by the next worker within a retry, and the worker is
 * forked again (a new pid) within a few seconds. Graceful stop drains every worker.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { request } from "undici";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { NOISY_CLIENT_CONNECTIONS, planWorkers, workerFor } from "../src/app/workers/assign.ts";
import { type RunningPrimary, startPrimary } from "../src/app/workers/primary.ts";
import { loadConfigFile } from "../src/config/load.ts";
import { type Devnet, startDevnet } from "../src/devnet/devnet.ts";
import { type FaultProxy, startFaultProxy } from "./harness/fault-proxy.ts";
import { THREE_DOMAINS } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";
import { WORKER_CLIENTS, workerClients } from "./harness/worker-clients.ts";

const WORKERS = 3;
const ADMIN_TOKEN = "workers-admin-token";
const CLIENTS = WORKER_CLIENTS;

let devnet: Devnet;
let primary: RunningPrimary;
/** A fault proxy in front of each node (by node id): what each upstream is asked, whichever worker asks it. */
const proxies = new Map<string, FaultProxy>();
let dir: string;

before(async () => {
  devnet = await startDevnet({ nodes: THREE_DOMAINS, startTimestamp: Math.floor(Date.now() / 1000) });
  await devnet.mine();
  for (const node of devnet.nodes) proxies.set(node.id, await startFaultProxy({ target: node.url }));
  dir = mkdtempSync(join(tmpdir(), "multihome-workers-"));
  const file = join(dir, "multihome.json");
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: "127.0.0.1", port: 0, workers: WORKERS, shutdownGraceMs: 2_000 },
      admin: { host: "127.0.0.1", port: 0, token: ADMIN_TOKEN },
      store: { kind: "sqlite", path: join(dir, "store.db") },
      log: { level: "warn" },
      transactions: { rebroadcastIntervalMs: 200 },
      chains: [
        {
          chainId: devnet.chainId,
          upstreams: devnet.nodes.map((n) => ({ id: n.id, url: proxies.get(n.id)!.url, domain: n.domain })),
        },
      ],
    }),
  );
  primary = await startPrimary(await loadConfigFile(file), file, WORKERS);
  // A worker says it is ready once it serves; its first head is agreed a poll later.
  for (const client of CLIENTS) {
    const c = caller(client);
    await waitFor(async () => (await c.call("eth_blockNumber")).ok, { timeoutMs: 10_000, what: `${client} served` });
    await c.agent.close();
  }
});

after(async () => {
  await primary?.stop();
  for (const proxy of proxies.values()) await proxy.close();
  await devnet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One JSON-RPC call straight to a node; its result (undefined on an error). */
async function rpcTo(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await res.body.json()) as { result?: unknown }).result;
}

const { caller, callerOn, lastFailure } = workerClients(
  () => primary,
  () => `/rpc/${devnet.chainId}`,
  "eth_chainId",
);

const plan = planWorkers(WORKERS);
/** The worker a quiet client's first connection goes to. */
const home = (client: string) =>
  workerFor(client, plan, { noisy: false, isolating: false, live: () => true, held: () => 0, turn: 0 })!;

test("clients are spread over the workers by address, and every worker serves", async () => {
  const workersUsed = new Set(CLIENTS.map(home));
  assert.ok(workersUsed.size >= 2, "the eight addresses land on more than one worker");
  for (const client of CLIENTS) {
    const c = caller(client);
    await waitFor(async () => (await c.call("eth_blockNumber")).ok, { timeoutMs: 10_000, what: `${client} served` });
    await c.agent.close();
  }
  assert.equal(primary.workerPids().filter((p) => p !== undefined).length, WORKERS);
});

// Early: no earlier request was answered by an upstream, so nothing leaves the overview's one-minute window meanwhile.
test("the admin overview reports the whole gateway: every worker's traffic summed", async () => {
  const overview = async () => {
    const res = await request(`${primary.adminUrl()}/admin/api/overview`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await res.body.json()) as { chains: { upstreams: { served: number }[] }[] };
    return body.chains[0]!.upstreams.reduce((sum, u) => sum + u.served, 0);
  };
  const before = await overview();
  for (let w = 0; w < WORKERS; w++) {
    const c = await callerOn(w);
    // One upstream's word each ("single"): each is counted against the upstream that answered it.
    for (let i = 0; i < 5; i++) assert.ok((await c.call("web3_clientVersion")).ok);
    await c.agent.close();
  }
  assert.equal((await overview()) - before, 5 * WORKERS, "the traffic of every worker, not worker 0's alone");
});

test("a worker killed with SIGKILL under load: other workers' clients see 0 failures; it is forked again", async (t) => {
  const victim = home(CLIENTS[0]!);
  const oldPid = primary.workerPids()[victim]!;
  const callers = CLIENTS.map((client) => ({ onVictim: false, ...caller(client) }));
  const failures = new Map<string, number>(CLIENTS.map((c) => [c, 0]));
  const served = new Map<string, number>(CLIENTS.map((c) => [c, 0]));
  let running = true;
  const loops = callers.map(async (c) => {
    while (running) {
      const r = await c.call("eth_getBalance", [devnet.accounts[1]!.address, "latest"]);
      (r.ok ? served : failures).set(c.client, (r.ok ? served : failures).get(c.client)! + 1);
    }
  });
  await waitFor(() => [...served.values()].every((n) => n >= 5), { timeoutMs: 10_000, what: "every client served" });
  // Each client's one keep-alive connection stays where it is until the kill: those on the victim are its clients.
  const onVictim = primary.connections()[victim]!;
  for (const c of callers) c.onVictim = onVictim[c.client] !== undefined;
  process.kill(oldPid, "SIGKILL");
  const killedAt = Date.now();
  await waitFor(() => (primary.workerPids()[victim] ?? oldPid) !== oldPid, {
    timeoutMs: 10_000,
    what: "the killed worker forked again",
  });
  const servedBefore = new Map(served);
  await waitFor(() => callers.every((c) => served.get(c.client)! > servedBefore.get(c.client)! + 5), {
    timeoutMs: 15_000,
    what: "every client served again after the restart",
  });
  running = false;
  await Promise.all(loops);
  for (const c of callers) await c.agent.close();
  const others = callers.filter((c) => !c.onVictim);
  t.diagnostic(
    `worker ${victim} (pid ${oldPid}) back as pid ${primary.workerPids()[victim]} after ${Date.now() - killedAt} ms at most; ` +
      `served ${JSON.stringify(Object.fromEntries(served))}, failed ${JSON.stringify(Object.fromEntries(failures))}`,
  );
  t.diagnostic(`last failure: ${lastFailure()}`);
  assert.ok(others.length > 0, "some clients are on other workers");
  for (const c of others) assert.equal(failures.get(c.client), 0, `${c.client} is on another worker: no failure`);
});

test("a head one worker served is never gone back on by another: a client moved between workers sees it rise", async (t) => {
  const [first, second] = [await callerOn(0), await callerOn(1)];
  const [a, b] = [first.client, second.client];
  const headOf = async (c: ReturnType<typeof caller>) => {
    const r = await c.call("eth_blockNumber");
    return r.ok ? Number(BigInt(r.result as string)) : -1;
  };
  const behind: string[] = [];
  // The workers poll their upstreams each on its own phase: in some rounds the second would still be a block behind.
  for (let round = 0; round < 12; round++) {
    await devnet.mine();
    const seen = await waitFor(
      async () => {
        const n = await headOf(first);
        return n >= devnet.head() ? n : undefined;
      },
      { timeoutMs: 10_000, what: `${a}'s worker to agree on block ${devnet.head()}` },
    );
    const then = await headOf(second);
    if (then < seen) behind.push(`round ${round}: ${a} saw ${seen}, then ${b} saw ${then}`);
  }
  await first.agent.close();
  await second.agent.close();
  t.diagnostic(`${a} on worker 0, ${b} on worker 1: ${behind.length} heads gone back`);
  assert.deepEqual(behind, []);
});

test("/metrics on the admin listener reports the whole gateway: every worker's requests summed", async () => {
  const spread = Array.from({ length: WORKERS }, (_, w) => CLIENTS.find((c) => home(c) === w)!);
  const scrape = async () => {
    const res = await request(`${primary.adminUrl()}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await res.body.text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith("multihome_requests_total{") && l.includes('method="web3_clientVersion"'));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };
  const before = await scrape();
  for (const client of spread) {
    const c = caller(client);
    for (let i = 0; i < 5; i++) assert.ok((await c.call("web3_clientVersion")).ok);
    await c.agent.close();
  }
  assert.equal((await scrape()) - before, 5 * spread.length, "the requests of every worker, not worker 0's alone");
});

test("a send a worker recorded is not lost when it is killed: the worker forked in its place rebroadcasts it", async () => {
  const victim = 1;
  const signer = privateKeyToAccount(devnet.accounts[4]!.privateKey);
  const raw = await signer.signTransaction({
    chainId: devnet.chainId,
    type: "eip1559",
    nonce: 0,
    to: devnet.accounts[8]!.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 1n,
  });
  const c = await callerOn(victim);
  const sent = await c.call("eth_sendRawTransaction", [raw]);
  await c.agent.close();
  assert.ok(sent.ok, "accepted");
  const hash = sent.result as Hex;
  // The nodes forget it (as a node restarted or evicting its pool would), and the worker that recorded it dies.
  for (const node of devnet.nodes) await rpcTo(node.url, "anvil_dropTransaction", [hash]);
  const oldPid = primary.workerPids()[victim]!;
  process.kill(oldPid, "SIGKILL");
  await waitFor(() => (primary.workerPids()[victim] ?? oldPid) !== oldPid, { timeoutMs: 10_000, what: "forked again" });
  // Forked again, it reopens its store and rebroadcasts: the transaction is back in a pool and mined.
  await waitFor(
    async () => {
      await devnet.mine();
      return (await rpcTo(devnet.nodes[0]!.url, "eth_getTransactionReceipt", [hash])) ?? undefined;
    },
    { timeoutMs: 15_000, intervalMs: 300, what: "the recorded transaction mined after the worker's restart" },
  );
});

test("a drill started on the admin listener takes the domain down on every worker, and stopping it brings it back", async () => {
  const admin = (method: string, path: string, body?: unknown) =>
    request(`${primary.adminUrl()}${path}`, {
      method: method as "GET",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { id?: string } }));
  const aws = THREE_DOMAINS.find((n) => n.domain.hosting === "aws")!.id;
  const started = await admin("POST", "/admin/api/drills", { selector: { hosting: "aws" }, durationMs: 60_000 });
  assert.equal(started.status, 201);
  // Every worker keeps polling heads (once a second) and serves its clients: none of it may reach the drilled domain.
  const clients: ReturnType<typeof caller>[] = [];
  for (let w = 0; w < WORKERS; w++) clients.push(await callerOn(w));
  const others = THREE_DOMAINS.filter((n) => n.id !== aws).map((n) => proxies.get(n.id)!);
  for (const p of proxies.values()) p.resetStats();
  for (let i = 0; i < 10; i++)
    for (const c of clients) assert.ok((await c.call("eth_getBalance", [devnet.accounts[2]!.address, "latest"])).ok);
  // Every worker polls every upstream once a second: two rounds of polls from all three reached the other domains.
  const polls = (p: FaultProxy) => p.stats().byMethod.eth_getBlockByNumber ?? 0;
  await waitFor(() => others.every((p) => polls(p) >= 2 * WORKERS), {
    timeoutMs: 10_000,
    what: "two rounds of head polls from every worker during the drill",
  });
  const duringDrill = proxies.get(aws)!.stats().requests;
  assert.equal((await admin("DELETE", `/admin/api/drills/${started.body.id}`)).status, 200);
  await waitFor(() => proxies.get(aws)!.stats().requests > duringDrill, { timeoutMs: 5_000, what: "aws asked again" });
  for (const c of clients) await c.agent.close();
  assert.equal(duringDrill, 0, "no worker asked the drilled domain anything");
});

test("what one worker proved, another serves as last-known-good when nothing is reachable: the workers share a store", async () => {
  const [a, b] = [await callerOn(0), await callerOn(1)];
  const address = devnet.accounts[6]!.address;
  const live = await a!.call("eth_getBalance", [address, "latest"]);
  assert.ok(live.ok, "proven on the first worker");
  for (const p of proxies.values()) await p.setFault({ kind: "down" });
  try {
    // The second worker never read this account: the value can only have come from the shared store.
    const lkg = await waitFor(
      async () => {
        const r = await b!.call("eth_getBalance", [address, "latest"]);
        assert.equal(r.ok, false, "nothing is reachable: no live answer");
        return (r.error as { data?: { lastKnownGood?: { value: string } } } | undefined)?.data?.lastKnownGood;
      },
      { timeoutMs: 10_000, what: "the other worker to answer with the shared last-known-good value" },
    );
    assert.equal(lkg.value, live.result);
  } finally {
    for (const p of proxies.values()) await p.clearFault();
    await a!.agent.close();
    await b!.agent.close();
  }
});

test("one client's many connections are spread over every worker", async () => {
  const client = CLIENTS[2]!;
  const c = caller(client, 3 * WORKERS);
  // Concurrent calls open as many connections as the agent allows.
  await Promise.all(Array.from({ length: 3 * WORKERS }, () => c.call("eth_chainId")));
  const held = primary.connections().map((byClient) => byClient[client] ?? 0);
  await c.agent.close();
  assert.equal(
    held.reduce((a, b) => a + b, 0),
    3 * WORKERS,
  );
  assert.deepEqual(held, Array(WORKERS).fill(3), `every worker holds three of ${client}'s connections`);
});

// Last: a noisy client keeps the isolation worker to itself for NOISY_CLIENT_MEMORY_MS.
test("a noisy client is moved to the isolation worker, and quiet clients off it, each after an answer", async () => {
  const isolation = plan.isolation!;
  const quietAddress = CLIENTS.find((c) => home(c) === isolation)!;
  const quiet = caller(quietAddress);
  assert.ok((await quiet.call("eth_chainId")).ok);
  assert.equal(primary.connections()[isolation]![quietAddress], 1, "the quiet client starts on the isolation worker");
  const noisyAddress = CLIENTS.find((c) => c !== quietAddress)!;
  const noisy = caller(noisyAddress, NOISY_CLIENT_CONNECTIONS);
  // As many connections at once as make a client noisy: the last of them already goes to the isolation worker.
  await Promise.all(Array.from({ length: NOISY_CLIENT_CONNECTIONS }, () => noisy.call("eth_chainId")));
  // Each connection on a regular worker is closed after its next answer; its client comes back through the front door.
  await waitFor(
    async () => {
      await Promise.all(Array.from({ length: NOISY_CLIENT_CONNECTIONS }, () => noisy.call("eth_chainId")));
      await quiet.call("eth_chainId");
      const open = primary.connections();
      return open.every((byClient, i) => (i === isolation) === (byClient[noisyAddress] !== undefined)) &&
        open[isolation]![quietAddress] === undefined
        ? true
        : undefined;
    },
    { timeoutMs: 10_000, what: `${noisyAddress} alone on worker ${isolation}` },
  );
  assert.ok((await quiet.call("eth_chainId")).ok, "the quiet client is served on another worker");
  assert.equal(primary.connections()[isolation]![quietAddress], undefined);
  await noisy.agent.close();
  await quiet.agent.close();
});
