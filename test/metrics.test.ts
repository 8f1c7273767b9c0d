/**
 * Metrics and request logs on a real gateway in front of real anvil nodes: `/metrics` on the admin listener is
 * scraped over HTTP, docs/metrics.md must list exactly the families scraped (with their types and labels), the
 * counters move with the traffic sent (with bounded labels, never a URL or the canary), one debug line is logged per
 * request, and docs/grafana-dashboard.json only queries documented metrics.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { hashApiKey } from "../src/server/access.ts";
import { CANARY, startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { waitFor } from "./harness/wait.ts";

const ADMIN_TOKEN = "metrics-test-admin-token";
/** A client key carries the canary too: it must never reach a label or a log line. */
const METERED_KEY = `metered-${CANARY}`;
/** Units the metered key may spend per window: three eth_chainId calls. */
const METERED_UNITS = 3;
const UNKNOWN_METHOD = "multihome_probeUnknownMethod";

const docsDir = join(import.meta.dirname, "..", "docs");

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Scrape {
  types: Map<string, string>;
  samples: Sample[];
}

function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The metrics table of docs/metrics.md: name → type and label names. */
function documentedMetrics(): Map<string, { type: string; labels: Set<string> }> {
  const text = readFileSync(join(docsDir, "metrics.md"), "utf8");
  const rows = new Map<string, { type: string; labels: Set<string> }>();
  for (const m of text.matchAll(/^\| `(multihome_[a-z0-9_]+)` \| (counter|gauge|histogram) \|([^|]*)\|/gm)) {
    assert.equal(rows.has(m[1]!), false, `${m[1]} is documented once`);
    rows.set(m[1]!, { type: m[2]!, labels: new Set([...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!)) });
  }
  return rows;
}

/** The family a sample belongs to (a histogram's `_bucket`, `_sum` and `_count` belong to the histogram). */
function familyOf(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && types.get(base) === "histogram" ? base : name;
}

let net: TestNetwork;

async function scrape(token = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${net.app.admin!.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
}

async function scraped(): Promise<Scrape> {
  const res = await scrape();
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

function value(s: Scrape, name: string, labels: Record<string, string>): number | undefined {
  return s.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
}

function total(s: Scrape, name: string, labels: Record<string, string>): number {
  return s.samples
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((sum, x) => sum + x.value, 0);
}

/** Log lines the gateway wrote, parsed. */
function logLines(): Record<string, unknown>[] {
  return net.logs.flatMap((chunk) =>
    chunk
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

before(async () => {
  net = await startTestNetwork({
    config: {
      admin: { host: "127.0.0.1", port: 0, token: ADMIN_TOKEN },
      auth: {
        keys: [
          {
            id: "metered",
            hash: hashApiKey(METERED_KEY),
            rateLimit: { units: METERED_UNITS, windowSeconds: 3_600 },
          },
        ],
      },
    },
  });
  await net.devnet.mine(3);
  await net.synced();
});
after(async () => {
  await net?.stop();
});

describe("metrics on a running gateway", () => {
  const requestIds: Record<string, string> = {};

  test("traffic: proven reads, a cache hit, an unknown method, a key over its limit, a WebSocket subscription", async () => {
    const address = net.devnet.accounts[0]!.address;
    const balance = await net.rpc("eth_getBalance", [address, "latest"]);
    assert.equal(balance.headers.get("multihome-verified"), "proof");
    requestIds.balance = balance.headers.get("x-request-id")!;
    for (let i = 0; i < 2; i++) assert.ok((await net.rpc("eth_getBlockByNumber", ["0x1", false])).body.result);
    const unknown = await net.rpc(UNKNOWN_METHOD, []);
    assert.equal(unknown.body.error?.code, -32601);
    requestIds.unknown = unknown.headers.get("x-request-id")!;

    const keyed = { authorization: `Bearer ${METERED_KEY}` };
    for (let i = 0; i < METERED_UNITS; i++) {
      const ok = await net.rpc("eth_chainId", [], keyed);
      assert.equal(ok.status, 200);
      requestIds.keyed = ok.headers.get("x-request-id")!;
    }
    const limited = await net.rpc("eth_chainId", [], keyed);
    assert.equal(limited.status, 429);

    const ws = new WebSocket(net.rpcUrl.replace("http://", "ws://"));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const subscribed = new Promise<unknown>((resolve) =>
      ws.once("message", (data) => resolve(JSON.parse(String(data)))),
    );
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    assert.equal(typeof ((await subscribed) as { result?: unknown }).result, "string");
    const open = await scraped();
    assert.equal(value(open, "multihome_websocket_connections", {}), 1);
    assert.equal(value(open, "multihome_websocket_subscriptions", {}), 1);
    ws.close();
    await waitFor(async () => value(await scraped(), "multihome_websocket_connections", {}) === 0, {
      timeoutMs: 5_000,
      what: "the WebSocket connection gauge to fall back to 0",
    });
    assert.equal(value(await scraped(), "multihome_websocket_subscriptions", {}), 0);
  });

  test("/metrics needs the admin token and answers in the Prometheus text format", async () => {
    const none = await fetch(`${net.app.admin!.url}/metrics`);
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const wrong = await scrape(`${ADMIN_TOKEN}x`);
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(await ok.text(), /^# HELP multihome_/m);
    const publicProbe = await fetch(`${net.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(publicProbe.status, 404, "the public listener does not serve metrics");
    await publicProbe.body?.cancel();
  });

  test("docs/metrics.md lists exactly the families scraped, with their types and labels", async () => {
    const s = await scraped();
    const docs = documentedMetrics();
    const families = [...s.types.keys()];
    assert.ok(families.length >= 20, "the scrape has the gateway's families");
    assert.deepEqual(
      families.filter((f) => !docs.has(f)),
      [],
      "every family in the scrape is documented in docs/metrics.md",
    );
    assert.deepEqual(
      [...docs.keys()].filter((d) => !s.types.has(d)),
      [],
      "every documented metric is in the scrape",
    );
    for (const [name, type] of s.types) assert.equal(docs.get(name)?.type, type, `${name} is documented as a ${type}`);
    for (const sample of s.samples) {
      const family = familyOf(sample.name, s.types);
      const documented = docs.get(family)!.labels;
      for (const label of Object.keys(sample.labels)) {
        if (label === "le" && s.types.get(family) === "histogram") continue;
        assert.ok(documented.has(label), `${family} label ${label} is documented`);
      }
    }
  });

  test("the counters moved with the traffic, under bounded labels", async () => {
    const s = await scraped();
    const chain = String(net.chainId);
    assert.equal(value(s, "multihome_requests_total", { chain, method: "eth_getBalance", outcome: "ok" }), 1);
    assert.equal(
      value(s, "multihome_request_duration_seconds_count", { chain, method: "eth_getBalance" }),
      1,
      "the request's latency was observed",
    );
    assert.equal(
      value(s, "multihome_requests_total", { chain, method: "other", outcome: "method_not_found" }),
      1,
      "an unknown method is counted as other",
    );
    assert.equal(
      value(s, "multihome_requests_total", { chain, method: "none", outcome: "rate_limited" }),
      1,
      "the request over the key's limit is counted",
    );
    assert.equal(value(s, "multihome_requests_total", { chain, method: "eth_chainId", outcome: "ok" }), METERED_UNITS);
    assert.equal(value(s, "multihome_refused_total", { reason: "rate_limit" }), 1);
    // Every call that reached the engine, once: the balance, two block reads, the unknown method, three eth_chainId.
    assert.equal(total(s, "multihome_verifications_total", { chain }), 7);
    assert.equal(value(s, "multihome_cache_requests_total", { chain, result: "hit" }), 1, "the second block read hit");
    assert.equal(
      value(s, "multihome_cache_requests_total", { chain, result: "miss" }),
      2,
      "the balance, the first block",
    );
    assert.ok((value(s, "multihome_cache_entries", {}) ?? 0) >= 1);
    // Per upstream and failure domain: every upstream was polled and answered.
    for (const [id, hosting] of [
      ["u1", "aws"],
      ["u2", "gcp"],
      ["u3", "hetzner"],
    ] as const) {
      const labels = { chain, upstream: id, hosting };
      assert.ok((value(s, "multihome_upstream_call_duration_seconds_count", labels) ?? 0) > 0, `${id} calls timed`);
      assert.equal(value(s, "multihome_upstream_breaker_state", { ...labels, state: "closed" }), 1);
      assert.equal(value(s, "multihome_upstream_admission", { ...labels, state: "admitted" }), 1);
      assert.equal(value(s, "multihome_upstream_cordoned", labels), 0);
      assert.ok((value(s, "multihome_upstream_head_lag_blocks", labels) ?? -1) >= 0);
      assert.equal(total(s, "multihome_upstream_errors_total", labels), 0, `${id} had no failed attempts`);
    }
    assert.equal(value(s, "multihome_chain_ready", { chain }), 1);
    assert.equal(value(s, "multihome_chain_head_block", { chain }), net.devnet.head());
    assert.equal(total(s, "multihome_domain_down", { chain }), 0);
  });

  test("one call moves each of its counters by exactly one", async () => {
    const chain = String(net.chainId);
    // An account no other test read: its first read misses the cache, the second hits.
    const params = [net.devnet.accounts[1]!.address, "latest"];
    const deltas = (before: Scrape, after: Scrape) => {
      const moved = (name: string, labels: Record<string, string>) =>
        total(after, name, labels) - total(before, name, labels);
      return {
        requests: moved("multihome_requests_total", { chain }),
        balanceOk: moved("multihome_requests_total", { chain, method: "eth_getBalance", outcome: "ok" }),
        timed: moved("multihome_request_duration_seconds_count", { chain }),
        verifications: moved("multihome_verifications_total", { chain }),
        proof: moved("multihome_verifications_total", { chain, outcome: "proof" }),
        hit: moved("multihome_cache_requests_total", { chain, result: "hit" }),
        miss: moved("multihome_cache_requests_total", { chain, result: "miss" }),
      };
    };
    const one = { requests: 1, balanceOk: 1, timed: 1, verifications: 1, proof: 1 };
    const s0 = await scraped();
    const first = await net.rpc("eth_getBalance", params);
    assert.equal(first.headers.get("multihome-verified"), "proof");
    requestIds.miss = first.headers.get("x-request-id")!;
    const s1 = await scraped();
    assert.deepEqual(deltas(s0, s1), { ...one, hit: 0, miss: 1 }, "the first read");
    const second = await net.rpc("eth_getBalance", params);
    assert.equal(second.body.result, first.body.result);
    requestIds.hit = second.headers.get("x-request-id")!;
    assert.deepEqual(deltas(s1, await scraped()), { ...one, hit: 1, miss: 0 }, "the second read");
  });

  test("no label value carries a URL, the canary, an API key or a client's method name", async () => {
    const res = await scrape();
    const text = await res.text();
    assert.equal(text.includes(CANARY), false);
    assert.equal(text.includes(UNKNOWN_METHOD), false);
    const { samples } = parseExposition(text);
    // Labelled samples to look at, or the check below holds of nothing.
    assert.ok(samples.filter((x) => Object.keys(x.labels).length > 0).length > 50, `${samples.length} samples`);
    for (const sample of samples) {
      for (const v of Object.values(sample.labels)) {
        assert.doesNotMatch(v, /:\/\/|127\.0\.0\.1|\/v3\/|apikey/i, `${sample.name} label value ${v}`);
      }
    }
  });

  test("one debug line per request: its id, chain, bounded method, outcome, status, duration and client", async () => {
    const lines = logLines().filter((l) => l.msg === "request");
    for (const [what, id] of Object.entries(requestIds))
      assert.equal(lines.filter((l) => l.requestId === id).length, 1, `one line for the ${what} request`);
    const ids = lines.map((l) => l.requestId);
    assert.equal(new Set(ids).size, ids.length, "no request is logged twice");
    const byId = (id: string | undefined) => lines.find((l) => l.requestId === id);
    const balance = byId(requestIds.balance);
    assert.ok(balance, "the balance request was logged under its x-request-id");
    assert.equal(balance.level, 20, "at debug");
    assert.equal(balance.chainId, net.chainId);
    assert.equal(balance.method, "eth_getBalance");
    assert.equal(balance.outcome, "ok");
    assert.equal(balance.status, 200);
    assert.equal(balance.client, "anonymous");
    assert.equal(typeof balance.durationMs, "number");
    const unknown = byId(requestIds.unknown);
    assert.equal(unknown?.method, "other");
    assert.equal(unknown?.outcome, "method_not_found");
    assert.equal(byId(requestIds.keyed)?.client, "metered", "the key's id, not the key");
    assert.ok(
      lines.some((l) => l.outcome === "rate_limited" && l.status === 429 && l.client === "metered"),
      "the refused request is logged too",
    );
    assert.equal(
      net.logs.some((l) => l.includes(UNKNOWN_METHOD)),
      false,
      "a client's method name never reaches a log line",
    );
  });
});

describe("docs/grafana-dashboard.json", () => {
  const dashboard = JSON.parse(readFileSync(join(docsDir, "grafana-dashboard.json"), "utf8")) as {
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  test("takes its Prometheus data source as a variable", () => {
    const ds = dashboard.templating.list.find((v) => v.type === "datasource");
    assert.ok(ds);
    assert.equal(ds.query, "prometheus");
    for (const p of dashboard.panels.filter((x) => x.type !== "row"))
      assert.equal(p.datasource?.uid, `\${${ds.name}}`, `${p.title} uses the variable`);
  });

  test("queries only documented metrics, and covers what operators watch", () => {
    const docs = documentedMetrics();
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\bmultihome_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")),
      ),
    );
    assert.deepEqual(
      [...used].filter((m) => !docs.has(m)),
      [],
      "every metric the dashboard queries is in docs/metrics.md",
    );
    for (const needed of [
      "multihome_requests_total",
      "multihome_request_duration_seconds",
      "multihome_upstream_call_duration_seconds",
      "multihome_upstream_errors_total",
      "multihome_upstream_head_lag_blocks",
      "multihome_upstream_breaker_state",
      "multihome_verifications_total",
      "multihome_cache_requests_total",
      "multihome_last_known_good_total",
      "multihome_outbox_pending_transactions",
      "multihome_outbox_transactions_total",
    ])
      assert.ok(used.has(needed), `a panel shows ${needed}`);
  });
});
