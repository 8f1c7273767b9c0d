/**
 * Two gateway replicas sharing a real redis-server: what one proves, the other can fall back on; when Redis dies
 * mid-load no client request fails, `/readyz` says so, and the replicas catch up when it is back.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { type App, startApp } from "../src/app/app.ts";
import type { Config } from "../src/config/index.ts";
import { silentLogger } from "../src/core/ports.ts";
import { createRedisStore } from "../src/stores/redis/redis-store.ts";
import { createLogger } from "../src/telemetry/logger.ts";
import { runLoad } from "./harness/load.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { balanceReader, makeBalanceLiar, truthBalances } from "./harness/reads.ts";
import { type RedisServer, startRedis } from "./harness/redis.ts";
import { waitFor } from "./harness/wait.ts";

let redis: RedisServer;
let net: TestNetwork;
let replica: App;

async function readyz(app: App) {
  return (await (await fetch(`${app.server.url}/readyz`)).json()) as { store: { kind: string; shared: string } };
}

interface LastKnownGoodData {
  value: unknown;
  blockNumber: number;
  blockHash: string;
  evidence: { method: string };
}

/** The last-known-good value an error answer carries, if any. */
function lastKnownGoodOf(body: { error?: { data?: unknown } }): LastKnownGoodData | undefined {
  return (body.error?.data as { lastKnownGood?: LastKnownGoodData } | undefined)?.lastKnownGood;
}

/**
 * A last-known-good value is what was proven: the balance at the block the proof was made at, that block's hash on
 * the chain, and the proof as its evidence.
 */
async function assertProvenAt(lkg: LastKnownGoodData, address: string, value: string, block: number): Promise<void> {
  const at = `0x${block.toString(16)}`;
  assert.equal(lkg.value, value);
  assert.equal(
    lkg.value,
    await net.direct("eth_getBalance", [address, at]),
    "the balance the chain holds at its block",
  );
  assert.equal(lkg.blockNumber, block, "the block the value was proven at");
  assert.equal(lkg.blockHash, ((await net.direct("eth_getBlockByNumber", [at, false])) as { hash: string }).hash);
  assert.equal(lkg.evidence.method, "proof");
}

before(async () => {
  redis = await startRedis();
  net = await startTestNetwork({ config: { store: { kind: "redis", url: redis.url }, cache: { enabled: false } } });
  replica = await startApp(net.config, { logger: silentLogger, readyTimeoutMs: 10_000 });
});
after(async () => {
  await replica?.stop();
  await net?.stop();
  await redis?.stop();
});

test("Redis killed mid-load: 0 failed requests, /readyz says so, both replicas catch up when it is back", async (t) => {
  await waitFor(async () => (await readyz(net.app)).store.shared === "up", { timeoutMs: 5_000, what: "redis up" });
  const reader = balanceReader(net, await truthBalances(net));
  const load = runLoad({ durationMs: 3_000, concurrency: 8, request: reader.request });
  await redis.kill();
  await waitFor(async () => (await readyz(net.app)).store.shared !== "up", {
    timeoutMs: 5_000,
    what: "the gateway to notice Redis is gone",
  });
  const report = await load;
  t.diagnostic(
    `Redis killed mid-load: ${report.requests} requests, ${report.failed} failed, p99 ${report.p99.toFixed(1)} ms`,
  );
  assert.equal(report.failed, 0, report.failures.join("; "));
  assert.equal(reader.wrong, 0);
  assert.ok(net.logs.some((l) => l.includes("shared store unreachable")));

  await redis.start();
  // The next proven read writes through again.
  await waitFor(
    async () => {
      await net.rpc("eth_getBalance", [net.devnet.accounts[0]!.address, "latest"]);
      return (await readyz(net.app)).store.shared === "up";
    },
    { timeoutMs: 10_000, intervalMs: 0, what: "the gateway to use Redis again" },
  );
});

test("what one replica proved, the other serves as last-known-good when nothing is reachable", async () => {
  const address = net.devnet.accounts[4]!.address;
  const live = await net.rpc("eth_getBalance", [address, "latest"]);
  assert.equal(live.headers.get("multihome-verified"), "proof");
  const proven = live.body.result as string;
  assert.match(proven, /^0x[0-9a-f]+$/, JSON.stringify(live.body));
  const provenAt = Number(live.headers.get("multihome-block"));
  assert.ok(provenAt > 0, `proven at block ${live.headers.get("multihome-block")}`);
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  try {
    // The replica never read this account: the value can only have come from Redis.
    const lkg = await waitFor(
      async () => {
        const res = await fetch(`${replica.server.url}/rpc/${net.chainId}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [address, "latest"] }),
        });
        const body = (await res.json()) as { result?: unknown; error?: { code: number; data?: unknown } };
        assert.equal(body.result, undefined, "nothing is reachable: no live answer");
        return lastKnownGoodOf(body);
      },
      { timeoutMs: 10_000, what: "the replica to answer with the shared last-known-good value" },
    );
    await assertProvenAt(lkg, address, proven, provenAt);
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
});

test("kill -9 of one replica under load: the other serves, and what was proven survives", async (t) => {
  // A replica in its own process, so it can be killed like a crashed VM: same upstreams, same Redis.
  const dir = mkdtempSync(join(tmpdir(), "multihome-replica-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const configPath = join(dir, "multihome.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      // One process, killed as a crashed VM would be (workers have their own crash tests: test/workers.test.ts).
      server: { host: "127.0.0.1", port, workers: 1 },
      store: { kind: "redis", url: redis.url },
      log: { level: "silent" },
      cache: { enabled: false },
      chains: [{ chainId: net.chainId, upstreams: net.config.chains[0]!.upstreams }],
    }),
  );
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "../src/cli/main.ts"), "start", "--config", configPath],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const doomed = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${doomed}/readyz`).catch(() => undefined))?.status === 200, {
    timeoutMs: 15_000,
    what: "the child replica to be ready",
  });
  // The doomed replica proves a balance nobody else read, then dies mid-load.
  const address = net.devnet.accounts[6]!.address;
  const provenReply = await fetch(`${doomed}/rpc/${net.chainId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [address, "latest"] }),
  });
  const proven = (await provenReply.json()) as { result?: string };
  assert.equal(provenReply.headers.get("multihome-verified"), "proof", JSON.stringify(proven));
  assert.match(proven.result ?? "", /^0x[0-9a-f]+$/, JSON.stringify(proven));
  const provenAt = Number(provenReply.headers.get("multihome-block"));
  const reader = balanceReader(net, await truthBalances(net));
  const load = runLoad({ durationMs: 2_000, concurrency: 8, request: reader.request });
  child.kill("SIGKILL");
  await exited;
  const report = await load;
  t.diagnostic(`survivor while its peer was killed: ${report.requests} requests, ${report.failed} failed`);
  assert.equal(report.failed, 0, report.failures.join("; "));
  // Everything down: the survivor answers with what the dead replica proved.
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  try {
    const lkg = await waitFor(
      async () => {
        const r = await net.rpc("eth_getBalance", [address, "latest"]);
        assert.equal(r.body.result, undefined, "nothing is reachable: no live answer");
        return lastKnownGoodOf(r.body);
      },
      { timeoutMs: 10_000, what: "the survivor to serve the dead replica's last-known-good value" },
    );
    await assertProvenAt(lkg, address, proven.result!, provenAt);
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await net.synced();
});

test("a liar found by one replica is avoided by the other within seconds", async (t) => {
  const address = net.devnet.accounts[2]!.address;
  await makeBalanceLiar(net, "u3", address);
  await net.synced();
  const statusOf = (app: App) => app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u3")!;
  assert.equal(statusOf(replica).cordonReason, undefined, "replica B is asked nothing here: it can only learn it");
  // Replica A reads (the cache is off) until its proofs have caught the liar often enough to cordon it.
  await waitFor(
    async () => {
      await net.rpc("eth_getBalance", [address, "latest"]);
      return statusOf(net.app).cordonReason !== undefined;
    },
    { timeoutMs: 10_000, intervalMs: 0, what: "replica A to cordon the liar" },
  );
  const cordonedAt = Date.now();
  await waitFor(() => statusOf(replica).cordonReason !== undefined, {
    timeoutMs: 5_000,
    what: "replica B to take on the cordon",
  });
  t.diagnostic(`replica B avoided the liar ${Date.now() - cordonedAt} ms after replica A cordoned it`);
});

/** Another replica pair's store: its own key prefix in the same Redis, so earlier tests' cordons do not reach it. */
function redisStore(keyPrefix: string): Config["store"] {
  return { kind: "redis", url: redis.url, keyPrefix, maxAnswerBytes: 64 * 1024 * 1024 };
}

/** A replica whose log lines the test can read. */
async function startReplica(config: Config): Promise<{ app: App; logs: string[] }> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const app = await startApp(config, { logger: createLogger({ level: "debug", destination }), readyTimeoutMs: 10_000 });
  return { app, logs };
}

async function rpcTo(app: App, method: string, params: unknown[]) {
  const res = await fetch(`${app.server.url}/rpc/${net.chainId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return { verified: res.headers.get("multihome-verified"), body: (await res.json()) as { result?: unknown } };
}

test("a final block one replica verified, the other serves from Redis without asking an upstream for it", async (t) => {
  const config: Config = {
    ...net.config,
    store: redisStore("answers:"),
    cache: { ...net.config.cache, enabled: true, finalityDepth: 2 },
  };
  await net.devnet.mine(3);
  await net.synced();
  const a = await startReplica(config);
  t.after(() => a.app.stop());
  const b = await startReplica(config);
  t.after(() => b.app.stop());
  const first = await rpcTo(a.app, "eth_getBlockByNumber", ["0x1", false]);
  assert.equal(first.verified, "proof");
  assert.equal((first.body.result as { number: string }).number, "0x1");
  const shared = createRedisStore({ url: redis.url, keyPrefix: "answers:" });
  t.after(() => shared.close());
  await shared.waitConnected(5_000);
  await waitFor(async () => (await shared.getAnswer(net.chainId, 'eth_getBlockByNumber|["0x1",false]')) !== undefined, {
    timeoutMs: 5_000,
    what: "replica A's verified block to reach Redis",
  });
  net.resetStats();
  const second = await rpcTo(b.app, "eth_getBlockByNumber", ["0x1", false]);
  assert.deepEqual(second.body.result, first.body.result);
  assert.equal(second.verified, "proof", "served with the evidence it was verified with");
  assert.equal(net.upstreamRequests("eth_getBlockByHash"), 0, "replica B fetched the block from no upstream");
  // A block that is not final yet is not shared: replica B verifies it itself.
  const head = await net.direct("eth_blockNumber", []);
  await rpcTo(a.app, "eth_getBlockByNumber", [head, false]);
  net.resetStats();
  const recent = await rpcTo(b.app, "eth_getBlockByNumber", [head, false]);
  assert.equal(recent.verified, "proof");
  assert.ok(net.upstreamRequests("eth_getBlockByHash") > 0, "an unfinalized block is verified by each replica");
});

test("replicas pool their disputes: a liar spreading its lies over two replicas is cordoned when the sum counts", async () => {
  const address = net.devnet.accounts[2]!.address;
  await makeBalanceLiar(net, "u3", address);
  await net.synced();
  const config: Config = {
    ...net.config,
    store: redisStore("disputes:"),
    cache: { ...net.config.cache, enabled: false },
    verification: { ...net.config.verification, disputesToCordon: 4 },
  };
  const a = await startReplica(config);
  const b = await startReplica(config);
  try {
    const disputes = (r: { logs: string[] }) =>
      r.logs.filter((l) => l.includes("answer failed verification") && l.includes('"upstream":"u3"')).length;
    const cordoned = (r: { app: App }) =>
      r.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u3")!.cordonReason !== undefined;
    // Replica A catches the liar twice: below the threshold, so nobody cordons it yet.
    await waitFor(
      async () => {
        await rpcTo(a.app, "eth_getBalance", [address, "latest"]);
        return disputes(a) >= 2;
      },
      { timeoutMs: 10_000, intervalMs: 0, what: "replica A to catch the liar twice" },
    );
    const fromA = disputes(a);
    assert.ok(fromA < 4 && !cordoned(a), `replica A alone has ${fromA} disputes: below the threshold of 4`);
    // Replica B catches it too; the pooled count crosses the threshold before B's own does.
    await waitFor(
      async () => {
        await rpcTo(b.app, "eth_getBalance", [address, "latest"]);
        return cordoned(b);
      },
      { timeoutMs: 10_000, intervalMs: 0, what: "replica B to cordon the liar" },
    );
    const fromB = disputes(b);
    assert.ok(fromB < 4, `replica B cordoned the liar after ${fromB} disputes of its own (A had ${fromA})`);
    assert.ok(fromA + fromB >= 4);
    await waitFor(() => cordoned(a), { timeoutMs: 5_000, what: "replica A to take on B's cordon" });
  } finally {
    await a.app.stop();
    await b.app.stop();
  }
});
