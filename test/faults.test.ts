/**
 * FAULTS.md part A on real anvil nodes behind the fault proxy, each under a steady checked read load: every answer
 * is compared with the truth, and the figures of each case are printed as test diagnostics. Windows are shorter than
 * FAULTS.md's 60 s so the suite fits CI; the pass criteria are the same.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { startApp } from "../src/app/app.ts";
import { validateConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/core/ports.ts";
import { startAnvil } from "../src/devnet/anvil.ts";
import { EMITTER_INIT } from "./harness/contracts.ts";
import type { FaultProxy } from "./harness/fault-proxy.ts";
import { formatReport, type LoadReport, runLoad } from "./harness/load.ts";
import { startTestNetwork, type TestNetwork, type TestNetworkOptions } from "./harness/network.ts";
import { balanceReader, type ReadChecker, truthBalances } from "./harness/reads.ts";
import { devSender } from "./harness/sender.ts";
import { waitFor } from "./harness/wait.ts";

const CONCURRENCY = 8;
/** What a client's proven eth_getBalance costs upstream: one eth_getProof. */
const UPSTREAM_READ = "eth_getProof";

async function setup(t: TestContext, options: TestNetworkOptions = {}) {
  // The cache is off: every read reaches the upstreams, which is where the faults act.
  const net = await startTestNetwork({
    blockTimeMs: 1_000,
    ...options,
    config: { cache: { enabled: false }, ...options.config },
  });
  t.after(() => net.stop());
  const truth = await truthBalances(net);
  const reader = balanceReader(net, truth);
  await runLoad({ durationMs: 500, concurrency: CONCURRENCY, request: reader.request });
  return { net, reader };
}

function load(reader: ReadChecker, durationMs: number): Promise<LoadReport> {
  return runLoad({ durationMs, concurrency: CONCURRENCY, request: reader.request });
}

function upstreamStatus(net: TestNetwork, id: string) {
  return net.app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === id)!;
}

/** The block a read names by number (not a tag or a hash), for the methods that take one. */
function blockNumberParam(method: string, params: unknown[]): number | undefined {
  const at =
    method === "eth_getBlockByNumber" || method === "eth_getBlockReceipts"
      ? params[0]
      : method === "eth_getLogs"
        ? (params[0] as { toBlock?: unknown } | undefined)?.toBlock
        : method === "eth_getProof" || method === "eth_getStorageAt"
          ? params[2]
          : ["eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_call"].includes(method)
            ? params[1]
            : undefined;
  return typeof at === "string" && /^0x[0-9a-f]+$/i.test(at) ? Number(at) : undefined;
}

/** A fault that never fired proves nothing: the proxy counts every request it struck. */
function assertStruck(t: TestContext, name: string, proxies: [string, FaultProxy][]) {
  for (const [id, proxy] of proxies) {
    const { faulted } = proxy.stats();
    t.diagnostic(`${name}: the fault on ${id} struck ${faulted} requests`);
    assert.ok(faulted > 0, `${name}: the fault on ${id} never struck`);
  }
}

function assertClean(t: TestContext, name: string, report: LoadReport, reader: ReadChecker, net?: TestNetwork) {
  t.diagnostic(formatReport(name, report));
  if (report.failed > 0 && net) {
    for (const line of net.logs.filter((l) => l.includes("failed verification")).slice(0, 5)) t.diagnostic(line.trim());
  }
  assert.equal(report.failed, 0, `failed requests: ${report.failures.join("; ")}`);
  assert.equal(reader.wrong, 0, "wrong answers");
  assert.equal(reader.headWentBackwards, 0, "served head went backwards");
}

test("A1: one of three upstreams killed — immediate failover, ejection, slow-start return", async (t) => {
  const { net, reader } = await setup(t);
  const u1 = net.proxies.get("u1")!;
  await u1.setFault({ kind: "down" });
  const downAt = Date.now();
  const during = load(reader, 5_000);
  await waitFor(() => upstreamStatus(net, "u1").breaker !== "closed", { timeoutMs: 5_000, what: "u1 ejected" });
  const ejectedAfterMs = Date.now() - downAt;
  const report = await during;
  assertClean(t, "A1 during outage", report, reader);
  t.diagnostic(`A1 ejected after ${ejectedAfterMs} ms`);
  assert.ok(ejectedAfterMs <= 2_000, `ejected after ${ejectedAfterMs} ms`);
  assert.ok(report.p99 <= 100, `p99 ${report.p99.toFixed(1)} ms`);

  await u1.clearFault();
  const backAt = Date.now();
  await waitFor(
    async () => {
      u1.resetStats();
      await load(reader, 300);
      return (u1.stats().byMethod[UPSTREAM_READ] ?? 0) > 0;
    },
    { timeoutMs: 60_000, intervalMs: 0, what: "u1 to serve again" },
  );
  t.diagnostic(`A1 serving again ${Date.now() - backAt} ms after recovery`);
});

test("A2: one upstream blackholed — hedged, bounded sockets, ejected", async (t) => {
  const { net, reader } = await setup(t);
  const u2 = net.proxies.get("u2")!;
  await u2.setFault({ kind: "blackhole" });
  const at = Date.now();
  const during = load(reader, 6_000);
  await waitFor(() => upstreamStatus(net, "u2").breaker !== "closed", { timeoutMs: 10_000, what: "u2 ejected" });
  const ejectedAfterMs = Date.now() - at;
  const report = await during;
  assertClean(t, "A2 blackhole", report, reader);
  t.diagnostic(`A2 ejected after ${ejectedAfterMs} ms; open sockets to u2: ${u2.stats().openSockets}`);
  assert.ok(report.p99 <= 370, `p99 ${report.p99.toFixed(1)} ms`);
  assert.ok(u2.stats().openSockets <= 32, `sockets ${u2.stats().openSockets}`);
});

test("A3: +2 s latency on one upstream — hedging wins, selection demotes it", async (t) => {
  const { net, reader } = await setup(t);
  const u3 = net.proxies.get("u3")!;
  await u3.setFault({ kind: "latency", ms: 2_000 });
  net.resetStats();
  const first = await load(reader, 3_000);
  assertClean(t, "A3 first 3 s", first, reader);
  // The slow upstream was asked for reads, and each of those waited the 2 s.
  assert.ok((u3.stats().byMethod[UPSTREAM_READ] ?? 0) > 0, "the slowed upstream was never asked for a read");
  assertStruck(t, "A3 first 3 s", [["u3", u3]]);
  net.resetStats();
  const settled = await load(reader, 4_000);
  assertClean(t, "A3 after demotion", settled, reader);
  const ratio = net.upstreamRequests(UPSTREAM_READ) / settled.requests;
  const slowShare = (u3.stats().byMethod[UPSTREAM_READ] ?? 0) / net.upstreamRequests(UPSTREAM_READ);
  t.diagnostic(`A3 upstream requests per client request after demotion: ${ratio.toFixed(3)}`);
  t.diagnostic(`A3 the slow upstream's share of reads after demotion: ${(slowShare * 100).toFixed(1)}%`);
  assert.ok(first.p99 <= 370 && settled.p99 <= 370, `p99 ${first.p99.toFixed(1)} / ${settled.p99.toFixed(1)} ms`);
  assert.ok(ratio <= 1.25, `amplification ${ratio}`);
  // Demoted: an undemoted third of three would get a third of the reads.
  assert.ok(slowShare <= 0.1, `the slow upstream still gets ${(slowShare * 100).toFixed(1)}% of the reads`);
});

test("A4: every upstream slow (+800 ms) — no amplification", async (t) => {
  const { net, reader } = await setup(t);
  for (const p of net.proxies.values()) await p.setFault({ kind: "latency", ms: 800 });
  net.resetStats();
  // The first wave is hedged (the gateway cannot know yet that every upstream turned slow); then hedging stops.
  const transition = await load(reader, 2_000);
  assertClean(t, "A4 first 2 s", transition, reader);
  t.diagnostic(
    `A4 first 2 s: upstream requests per client request ${(net.upstreamRequests(UPSTREAM_READ) / transition.requests).toFixed(3)}`,
  );
  net.resetStats();
  const report = await load(reader, 6_000);
  assertClean(t, "A4 all slow", report, reader);
  assertStruck(t, "A4 all slow", [...net.proxies.entries()]);
  // Every proven read waits for a slowed upstream's proof: faster reads would mean the slowness never bit.
  assert.ok(report.p50 >= 800, `p50 ${report.p50.toFixed(1)} ms under an 800 ms delay on every upstream`);
  const ratio = net.upstreamRequests(UPSTREAM_READ) / report.requests;
  t.diagnostic(`A4 upstream requests per client request: ${ratio.toFixed(3)}`);
  assert.ok(ratio <= 1.2, `amplification ${ratio}`);
  assert.ok(report.p99 <= 5_000, "within the request deadline");
});

test("A5: brownout, 30% HTTP 500 on one upstream — retried elsewhere and demoted", async (t) => {
  const { net, reader } = await setup(t);
  const u1 = net.proxies.get("u1")!;
  await u1.setFault({
    fault: { kind: "status", status: 500, body: "internal error" },
    ratio: 0.3,
    methods: [UPSTREAM_READ],
  });
  net.resetStats();
  const first = await load(reader, 4_000);
  assertClean(t, "A5 first 4 s", first, reader);
  assertStruck(t, "A5 first 4 s", [["u1", u1]]);
  net.resetStats();
  const later = await load(reader, 4_000);
  assertClean(t, "A5 later", later, reader);
  const share = (u1.stats().byMethod[UPSTREAM_READ] ?? 0) / net.upstreamRequests(UPSTREAM_READ);
  const amplification = net.upstreamRequests(UPSTREAM_READ) / later.requests;
  t.diagnostic(`A5 browned-out share ${(share * 100).toFixed(1)}%, amplification ${amplification.toFixed(3)}`);
  assert.ok(share < 0.05, `share ${share}`);
  assert.ok(amplification <= 1.2, `amplification ${amplification}`);
});

test("A6: rate limits — honour backoff, classify HTTP-200 limits, 429 at once when all are limited", async (t) => {
  const { net, reader } = await setup(t);
  const [u1, u2, u3] = ["u1", "u2", "u3"].map((id) => net.proxies.get(id)!);
  await u1!.setFault({
    fault: { kind: "rpcError", status: 429, code: -32005, message: "rate limited", data: { backoff_seconds: 10 } },
    methods: [UPSTREAM_READ],
  });
  await u2!.setFault({
    fault: { kind: "rpcError", code: -32029, message: "too many requests" },
    methods: [UPSTREAM_READ],
  });
  // Requests already in flight when u1 first says "back off" may reach it; after that answer, none may for 10 s.
  const limitedAt = Date.now();
  const first = await load(reader, 1_000);
  assertClean(t, "A6 first second", first, reader);
  assertStruck(t, "A6 first second", [
    ["u1", u1!],
    ["u2", u2!],
  ]);
  u1!.resetStats();
  const report = await load(reader, 7_000);
  assertClean(t, "A6 two limited", report, reader);
  const toU1 = u1!.stats().requests;
  t.diagnostic(
    `A6 requests to the backing-off upstream from 1 s to ${((Date.now() - limitedAt) / 1000).toFixed(1)} s: ${toU1}`,
  );
  assert.equal(toU1, 0);
  const share = (u2!.stats().byMethod[UPSTREAM_READ] ?? 0) / report.requests;
  t.diagnostic(`A6 share of reads sent to the HTTP-200 limited upstream: ${(share * 100).toFixed(1)}%`);

  await u3!.setFault({
    fault: { kind: "status", status: 429, headers: { "retry-after": "5" } },
    methods: [UPSTREAM_READ],
  });
  // u3 has to be seen limiting once (that request may still be served elsewhere or fail); then the gateway knows.
  await waitFor(
    async () => {
      const r = await net.rpc("eth_getBalance", [net.devnet.accounts[0]!.address, "latest"]);
      return r.status === 429;
    },
    { timeoutMs: 5_000, what: "all upstreams known rate limited" },
  );
  const t0 = performance.now();
  const r = await net.rpc("eth_getBalance", [net.devnet.accounts[0]!.address, "latest"]);
  const elapsed = performance.now() - t0;
  t.diagnostic(
    `A6 all limited: HTTP ${r.status} in ${elapsed.toFixed(1)} ms, Retry-After ${r.headers.get("retry-after")}`,
  );
  assert.equal(r.status, 429);
  assert.equal(r.body.error?.code, -32005);
  assert.ok(Number(r.headers.get("retry-after")) >= 1);
  assert.ok(elapsed < 50, `took ${elapsed} ms`);
});

test("A8: a lagging upstream never answers for blocks it does not have", async (t) => {
  const { net, reader } = await setup(t, { blockTimeMs: 0 });
  await net.devnet.mine(2);
  const lagging = "u2";
  net.devnet.pause(lagging);
  // Twenty blocks the lagging node does not have, each with a transaction that emits a log.
  const send = devSender(net, 6);
  const mined: { hash: string; block: number }[] = [];
  for (let i = 0; i < 20; i++) {
    const hash = await send({ data: EMITTER_INIT });
    mined.push({ hash, block: await net.devnet.mine() });
  }
  const laggingHead = net.devnet.head() - 20;
  // What the lagging node lacks: every block above its head, by number, by hash, and the transactions in them.
  const lacking = new Set(mined.map((m) => m.hash.toLowerCase().slice(2)));
  for (const m of mined) {
    const block = (await net.direct("eth_getBlockByNumber", [`0x${m.block.toString(16)}`, false])) as { hash: string };
    lacking.add(block.hash.toLowerCase().slice(2));
  }
  const asked: Record<string, number> = {};
  const overreach: string[] = [];
  await net.proxies.get(lagging)!.setFault({
    fault: {
      kind: "rewrite",
      fn: (request, response) => {
        asked[request.method] = (asked[request.method] ?? 0) + 1;
        const params = Array.isArray(request.params) ? request.params : [];
        const text = JSON.stringify(params).toLowerCase();
        for (const hash of lacking) if (text.includes(hash)) overreach.push(`${request.method} 0x${hash}`);
        const block = blockNumberParam(request.method, params);
        if (block !== undefined && block > laggingHead) overreach.push(`${request.method} block ${block}`);
        return response;
      },
    },
  });
  await waitFor(() => net.app.engine.readiness().chains[0]!.head?.number === net.devnet.head(), {
    timeoutMs: 5_000,
    what: "agreed head to reach the quorum head",
  });
  const report = await load(reader, 3_000);
  assertClean(t, "A8 balances", report, reader);
  // Random historical blocks: each must be the real block, never null from the lagging node.
  let wrong = 0;
  for (let i = 0; i < 200; i++) {
    const n = 1 + ((i * 7919) % net.devnet.head());
    const r = await net.rpc("eth_getBlockByNumber", [`0x${n.toString(16)}`, false]);
    if ((r.body.result as { number?: string } | null)?.number !== `0x${n.toString(16)}`) wrong++;
  }
  // Receipts and log ranges over the blocks the lagging node lacks: never null, never empty, never wrong.
  const truthNode = net.devnet.nodes.find((n) => n.id === "u1")!.url;
  const truthOf = async (method: string, params: unknown[]) => {
    const res = await fetch(truthNode, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return JSON.stringify(((await res.json()) as { result: unknown }).result);
  };
  let wrongReceiptsOrLogs = 0;
  let emptyLogs = 0;
  const head = net.devnet.head();
  for (let i = 0; i < 400; i++) {
    const tx = mined[(i * 7) % mined.length]!;
    const call: [string, unknown[]] =
      i % 2 === 0
        ? ["eth_getTransactionReceipt", [tx.hash]]
        : [
            "eth_getLogs",
            [
              {
                fromBlock: `0x${tx.block.toString(16)}`,
                toBlock: `0x${Math.min(head, tx.block + (i % 5)).toString(16)}`,
              },
            ],
          ];
    const r = await net.rpc(...call);
    if (JSON.stringify(r.body.result) !== (await truthOf(...call))) wrongReceiptsOrLogs++;
    if (Array.isArray(r.body.result) && r.body.result.length === 0) emptyLogs++;
  }
  const served = await net.rpc("eth_blockNumber");
  t.diagnostic(
    `A8 lagging head ${laggingHead}, quorum head ${net.devnet.head()}, served latest ${Number(served.body.result)}, ` +
      `wrong blocks ${wrong}, wrong receipts or logs ${wrongReceiptsOrLogs} of 400 (empty log answers ${emptyLogs})`,
  );
  assert.equal(wrong, 0);
  assert.equal(wrongReceiptsOrLogs, 0);
  assert.equal(emptyLogs, 0);
  assert.equal(Number(served.body.result), net.devnet.head());
  // Every request the lagging node got went through the recorder (its head polls at least): an empty record would
  // make "nothing it lacks was asked of it" hold of nothing.
  t.diagnostic(`A8 requests to the lagging node: ${JSON.stringify(asked)}`);
  assert.ok((asked["eth_getBlockByNumber"] ?? 0) > 0, "the recorder saw no request to the lagging node");
  assert.deepEqual(overreach.slice(0, 10), [], `${overreach.length} requests for what the lagging node lacks`);
});

test("A22: truncated and reset responses are retried, never passed on", async (t) => {
  const { net, reader } = await setup(t);
  await net.proxies
    .get("u1")!
    .setFault({ fault: { kind: "truncate", fraction: 0.5 }, ratio: 0.5, methods: [UPSTREAM_READ] });
  await net.proxies.get("u2")!.setFault({ fault: { kind: "reset" }, ratio: 0.3, methods: [UPSTREAM_READ] });
  const report = await load(reader, 4_000);
  assertClean(t, "A22 truncate + reset", report, reader, net);
  assertStruck(t, "A22 truncate + reset", [
    ["u1", net.proxies.get("u1")!],
    ["u2", net.proxies.get("u2")!],
  ]);
  assert.ok(!report.failures.some((f) => /Unexpected end of JSON/.test(f)));
});

test("A24: a slowloris upstream is cut at the attempt deadline", async (t) => {
  const { net, reader } = await setup(t);
  const u3 = net.proxies.get("u3")!;
  await u3.setFault({ fault: { kind: "slowBody", bytesPerSecond: 1 }, methods: [UPSTREAM_READ] });
  const report = await load(reader, 4_000);
  assertClean(t, "A24 slow body", report, reader);
  assertStruck(t, "A24 slow body", [["u3", u3]]);
  assert.ok(report.p99 <= 370, `p99 ${report.p99.toFixed(1)} ms`);
  // The 1 s attempt deadline covers the body: trickling sockets do not pile up.
  await u3.clearFault();
  await waitFor(() => u3.stats().openSockets <= 32, { timeoutMs: 3_000, what: "sockets to close" });
});

test("A26: an upstream swapped to another chain is cordoned and never served from", async (t) => {
  const { net, reader } = await setup(t, { config: { health: { chainCheckIntervalMs: 30_000 } } });
  const other = await startAnvil({ chainId: 137 });
  t.after(() => other.stop());
  const marker = "0x1234567890";
  for (const a of net.devnet.accounts.slice(0, 5)) {
    await fetch(other.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_setBalance", params: [a.address, marker] }),
    });
  }
  const swappedAt = Date.now();
  net.proxies.get("u2")!.setTarget(other.url);
  const during = load(reader, 4_000);
  await waitFor(() => upstreamStatus(net, "u2").admission === "cordoned", { timeoutMs: 30_000, what: "u2 cordoned" });
  const detectedMs = Date.now() - swappedAt;
  const report = await during;
  t.diagnostic(`A26 cordoned ${detectedMs} ms after the swap: ${upstreamStatus(net, "u2").cordonReason}`);
  assertClean(t, "A26 wrong chain", report, reader);
  assert.ok(detectedMs <= 30_000);
});

for (const wrong of [
  { name: "another chain id", anvil: { chainId: 137 }, reason: /chain id 137/ },
  { name: "the same chain id but another genesis", anvil: { chainId: 31337, timestamp: 1_000 }, reason: /genesis/ },
]) {
  test(`A26: at startup an upstream on the wrong chain (${wrong.name}) is never admitted`, async (t) => {
    const net = await startTestNetwork();
    t.after(() => net.stop());
    const other = await startAnvil(wrong.anvil);
    t.after(() => other.stop());
    net.proxies.get("u3")!.setTarget(other.url);
    // A fresh gateway over the same proxies: u3 now answers for the wrong chain.
    const config = validateConfig({
      server: { port: 0 },
      store: { kind: "memory" },
      health: { headPollIntervalMs: 250 },
      chains: [
        {
          chainId: net.chainId,
          upstreams: net.devnet.nodes.map((n) => ({ id: n.id, url: net.proxies.get(n.id)!.url, domain: n.domain })),
        },
      ],
    });
    const app = await startApp(config, { logger: silentLogger, readyTimeoutMs: 5_000 });
    t.after(() => app.stop());
    await waitFor(
      () => app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u3")!.admission === "cordoned",
      {
        timeoutMs: 5_000,
        what: "u3 to be cordoned",
      },
    );
    const status = app.engine.readiness().chains[0]!.upstreams.find((u) => u.id === "u3")!;
    t.diagnostic(`A26 startup (${wrong.name}): ${status.cordonReason}`);
    assert.match(status.cordonReason ?? "", wrong.reason);
    assert.equal(app.engine.readiness().ready, true);
  });
}

test("A16: total outage — honest errors, no fabricated zero, readiness flips, probes stay at one per second", async (t) => {
  const { net } = await setup(t, { config: { health: { headPollIntervalMs: 1_000 } } });
  const address = net.devnet.accounts[0]!.address;
  const downAt = Date.now();
  for (const p of net.proxies.values()) await p.setFault({ kind: "down" });
  await waitFor(async () => (await fetch(`${net.baseUrl}/readyz`)).status === 503, {
    timeoutMs: 5_000,
    what: "readiness to flip",
  });
  t.diagnostic(`A16 not ready ${Date.now() - downAt} ms after the outage`);
  const health = await fetch(`${net.baseUrl}/healthz`);
  assert.equal(health.status, 200, "liveness stays OK: no restart loop");

  const balance = await net.rpc("eth_getBalance", [address, "latest"]);
  assert.equal(balance.status, 200);
  assert.equal(balance.body.result, undefined, `fabricated answer: ${JSON.stringify(balance.body)}`);
  assert.equal(balance.body.error?.code, -32002);
  // A well-formed signed transaction: a malformed one is refused whatever the upstreams do.
  const signer = privateKeyToAccount(net.devnet.accounts[7]!.privateKey);
  const raw = await signer.signTransaction({
    chainId: net.chainId,
    nonce: 0,
    to: signer.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 1n,
  });
  const send = await net.rpc("eth_sendRawTransaction", [raw]);
  assert.equal(send.body.result, undefined, `false success for a send: ${JSON.stringify(send.body)}`);
  assert.equal(send.body.error?.code, -32002, JSON.stringify(send.body));

  // Probing while every provider fails (here: answering 503 to everything, so each probe can be counted): the
  // gateway sends about one head poll per interval per upstream, and no client traffic.
  for (const p of net.proxies.values()) await p.setFault({ kind: "status", status: 503, body: "unavailable" });
  const proxy = net.proxies.get("u1")!;
  proxy.resetStats();
  const windowMs = 3_000;
  await new Promise((resolve) => setTimeout(resolve, windowMs)); // the measured thing is the probe rate over time
  const perSecond = proxy.stats().requests / (windowMs / 1000);
  t.diagnostic(`A16 probes per second per upstream during the outage: ${perSecond.toFixed(2)}`);
  assert.ok(perSecond <= 1.5, `probe rate ${perSecond}/s`);
  await proxy.clearFault();
  const readyAgainAt = Date.now();
  await waitFor(async () => (await fetch(`${net.baseUrl}/readyz`)).status === 200, {
    timeoutMs: 15_000,
    what: "readiness after recovery",
  });
  t.diagnostic(`A16 ready again ${Date.now() - readyAgainAt} ms after one upstream came back`);
});
