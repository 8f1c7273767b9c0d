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
import { after, before, test } from "node:test";
import { type App, startApp } from "../src/app/app.ts";
import { silentLogger } from "../src/telemetry/logger.ts";
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
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  try {
    // The replica never read this account: the value can only have come from Redis.
    await waitFor(
      async () => {
        const res = await fetch(`${replica.server.url}/rpc/${net.chainId}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [address, "latest"] }),
        });
        const body = (await res.json()) as { error?: { code: number; data?: { lastKnownGood?: { value: string } } } };
        return body.error?.data?.lastKnownGood?.value === live.body.result;
      },
      { timeoutMs: 10_000, what: "the replica to answer with the shared last-known-good value" },
    );
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
      server: { host: "127.0.0.1", port },
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
  const proven = (await (
    await fetch(`${doomed}/rpc/${net.chainId}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [address, "latest"] }),
    })
  ).json()) as { result: string };
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
    await waitFor(
      async () => {
        const r = await net.rpc("eth_getBalance", [address, "latest"]);
        return (
          (r.body.error?.data as { lastKnownGood?: { value: string } } | undefined)?.lastKnownGood?.value ===
          proven.result
        );
      },
      { timeoutMs: 10_000, what: "the survivor to serve the dead replica's last-known-good value" },
    );
  } finally {
    for (const p of net.proxies.values()) await p.clearFault();
  }
  await net.synced();
});

test("a liar found by one replica is avoided by the other within seconds", async (t) => {
  const address = net.devnet.accounts[2]!.address;
  await makeBalanceLiar(net, "u3", address);
  await net.synced();
  const statusOf = (app: App) => app.gateway.readiness().chains[0]!.upstreams.find((u) => u.id === "u3")!;
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
