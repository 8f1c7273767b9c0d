import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram, Registry } from "prom-client";
import { methodLabel } from "../core/rpc/methods.ts";
import type { Readiness } from "../core/rpc/status.ts";
import { callOutcome } from "../upstream/upstream.ts";
import { createMetrics, LATENCY_BUCKETS_SECONDS } from "./metrics.ts";

const U1 = { id: "u1", domain: { operator: "op-one", hosting: "aws", region: "us-east-1" } };

/** The samples of a Prometheus text exposition: name, labels and value per line. */
function samples(text: string) {
  return text.split("\n").flatMap((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    return [{ name: m[1]!, labels, value: Number(m[3]) }];
  });
}

async function sample(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>) {
  const text = await metrics.registry.scrape();
  assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), `${name} is registered`);
  return samples(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

test("method labels: Multihome's own methods by name, anything else is other", () => {
  assert.equal(methodLabel("eth_getBalance"), "eth_getBalance");
  assert.equal(methodLabel("eth_subscribe"), "eth_subscribe");
  assert.equal(methodLabel("eth_getBalance2"), "other");
  assert.equal(methodLabel("__proto__"), "other");
  assert.equal(methodLabel("x".repeat(64)), "other");
});

test("two gateways in one process keep separate registries", async () => {
  const a = createMetrics({ chainIds: [1] });
  const b = createMetrics({ chainIds: [1] });
  a.request(1, "eth_chainId", "ok", 0.001);
  assert.equal(await sample(a, "multihome_requests_total", { method: "eth_chainId", outcome: "ok" }), 1);
  assert.equal(await sample(b, "multihome_requests_total", { method: "eth_chainId", outcome: "ok" }), undefined);
});

test("client-chosen values never become labels: unknown chains, methods and outcomes are bounded", async () => {
  const m = createMetrics({ chainIds: [31337] });
  m.request(999, "made_up_method", "ok", 0.01);
  m.request(31337, "eth_call", "something invented", 0.01);
  m.request(31337, undefined, "parse_error", 0.001);
  // Names a client may send that are also label values: a method called `none` is not a whole-body refusal.
  m.request(31337, "none", "ok", 0.001);
  m.request(31337, "other", "ok", 0.001);
  assert.equal(await sample(m, "multihome_requests_total", { chain: "other", method: "other" }), 1);
  assert.equal(
    await sample(m, "multihome_requests_total", { chain: "31337", method: "eth_call", outcome: "other" }),
    1,
  );
  assert.equal(await sample(m, "multihome_requests_total", { method: "none", outcome: "parse_error" }), 1);
  assert.equal(await sample(m, "multihome_requests_total", { method: "none", outcome: "ok" }), undefined);
  assert.equal(await sample(m, "multihome_requests_total", { chain: "31337", method: "other", outcome: "ok" }), 2);
  const text = await m.registry.scrape();
  assert.equal(text.includes("made_up_method"), false);
  assert.equal(text.includes("something invented"), false);
});

test("upstream instruments are bound once and count errors by kind, not cancelled attempts", async () => {
  const m = createMetrics({ chainIds: [1] });
  const chain = m.chain(1);
  assert.equal(m.chain(1), chain, "the same chain gets the same instruments");
  const u = chain.upstream(U1);
  assert.equal(chain.upstream(U1), u);
  u.call("ok", 0.02);
  u.call("timeout", 1);
  u.dispute();
  u.cordon("disputes");
  const labels = { upstream: "u1", hosting: "aws", region: "us-east-1", operator: "op-one" };
  assert.equal(await sample(m, "multihome_upstream_errors_total", { ...labels, kind: "timeout" }), 1);
  assert.equal(await sample(m, "multihome_upstream_errors_total", { ...labels, kind: "reset" }), 0);
  assert.equal(await sample(m, "multihome_upstream_disputes_total", labels), 1);
  assert.equal(await sample(m, "multihome_upstream_cordons_total", { ...labels, reason: "disputes" }), 1);
  // Both attempts were timed; a cancelled one never reaches the port (see upstream.ts callOutcome).
  assert.match(
    await m.registry.scrape(),
    /^multihome_upstream_call_duration_seconds_count\{[^}]*upstream="u1"[^}]*\} 2$/m,
  );
});

test("attempt outcomes map onto error kinds; a cancelled hedge is not counted", () => {
  assert.equal(callOutcome({ kind: "result", decision: "answer", result: "0x1" }), "ok");
  assert.equal(callOutcome({ kind: "execution", decision: "answer", error: { code: 3, message: "reverted" } }), "ok");
  assert.equal(callOutcome({ kind: "transport", decision: "failover", failure: "aborted" }), undefined);
  assert.equal(callOutcome({ kind: "transport", decision: "failover", failure: "connect" }), "connect");
  assert.equal(callOutcome({ kind: "capacity", decision: "retry", backoffMs: undefined }), "rate_limited");
  assert.equal(callOutcome({ kind: "server", decision: "failover", status: 503 }), "server_error");
  assert.equal(callOutcome({ kind: "too_large", decision: "fatal" }), "too_large");
});

test("state gauges are read from the gateway's status when scraped", async () => {
  const m = createMetrics({ chainIds: [1] });
  let breaker = "closed";
  const status = (): Readiness => ({
    ready: true,
    chains: [
      {
        chainId: 1,
        ready: true,
        head: { number: 100, hash: "0xab" } as never,
        domainsDown: ["aws/us-east-1"],
        upstreams: [
          {
            ...U1.domain,
            id: "u1",
            domain: "aws/us-east-1",
            admission: "admitted",
            cordoned: false,
            drilled: false,
            breaker,
            head: 97,
            latencyMs: 12,
          },
        ],
      },
    ],
  });
  m.watch({ readiness: status, cacheStats: () => ({ bytes: 2048, entries: 3 }) });
  assert.equal(await sample(m, "multihome_upstream_head_lag_blocks", { upstream: "u1" }), 3);
  assert.equal(await sample(m, "multihome_upstream_breaker_state", { upstream: "u1", state: "closed" }), 1);
  breaker = "open";
  assert.equal(await sample(m, "multihome_upstream_breaker_state", { upstream: "u1", state: "closed" }), 0);
  assert.equal(await sample(m, "multihome_upstream_breaker_state", { upstream: "u1", state: "open" }), 1);
  assert.equal(await sample(m, "multihome_domain_down", { hosting: "aws", region: "us-east-1" }), 1);
  assert.equal(await sample(m, "multihome_chain_head_block", { chain: "1" }), 100);
  assert.equal(await sample(m, "multihome_cache_bytes", {}), 2048);
});

test("WebSocket gauges go up and down", async () => {
  const m = createMetrics({ chainIds: [] });
  m.webSocketConnections(1);
  m.webSocketSubscriptions(2);
  m.webSocketSubscriptions(-1);
  assert.equal(await sample(m, "multihome_websocket_connections", {}), 1);
  assert.equal(await sample(m, "multihome_websocket_subscriptions", {}), 1);
});

test("latency histograms scrape exactly as prom-client's own would, bucket by bucket", async () => {
  const m = createMetrics({ chainIds: [1] });
  const u = m.chain(1).upstream(U1);
  const name = "multihome_upstream_call_duration_seconds";
  const reference = new Registry();
  const histogram = new Histogram({
    name,
    help: "reference",
    labelNames: ["upstream"],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [reference],
  });
  // On a bound, between bounds, beyond the last, and zero.
  for (const seconds of [0, 0.001, 0.0011, 0.005, 0.3, 0.3, 2.5, 9.99, 10, 11, 600]) {
    u.call("ok", seconds);
    histogram.observe({ upstream: "u1" }, seconds);
  }
  const key = (s: { name: string; labels: Record<string, string> }) => `${s.name} le=${s.labels.le}`;
  const values = (text: string) =>
    samples(text)
      .filter((s) => s.name.startsWith(name))
      .map((s): [string, number] => [key(s), s.value]);
  const theirs = values(await reference.metrics());
  assert.equal(theirs.length, LATENCY_BUCKETS_SECONDS.length + 3);
  assert.deepEqual(new Map(values(await m.registry.scrape())), new Map(theirs));
});

test("a scrape reads the gateway's status once for all the state gauges", async () => {
  const m = createMetrics({ chainIds: [1] });
  let readiness = 0;
  let cacheStats = 0;
  m.watch({
    readiness: () => {
      readiness++;
      return { ready: false, chains: [] };
    },
    cacheStats: () => {
      cacheStats++;
      return { bytes: 0, entries: 0 };
    },
  });
  await m.registry.scrape();
  assert.deepEqual({ readiness, cacheStats }, { readiness: 1, cacheStats: 1 });
});
