import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createFakeClock } from "../../../test/harness/fake-clock.ts";
import type { FailureDomain } from "../../core/domains/domain.ts";
import { createDomainHealth } from "../../core/domains/domain-health.ts";
import { silentLogger, type Transport, TransportError, type TransportResponse } from "../../core/ports.ts";
import { createLatencyWindow } from "../../core/routing/latency.ts";
import { createRetryBudget } from "../../core/routing/retry-budget.ts";
import { createMemoryStore } from "../../stores/memory/memory-store.ts";
import { createUpstream, type Upstream, viewOf } from "../../upstream/upstream.ts";
import type { EngineContext } from "../context.ts";
import { type CallPlan, type ExecuteTarget, execute } from "./execute.ts";

type Script = (body: string, signal: AbortSignal) => Promise<TransportResponse>;

function scripted(script: Script): Transport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    send(body, { signal }) {
      calls.push(body);
      return script(body, signal);
    },
    close: async () => {},
  };
}

const ok = (result: unknown): Promise<TransportResponse> =>
  Promise.resolve({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result }) });
const never: Script = (_b, signal) =>
  new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new TransportError("aborted", "aborted"))));
const refused: Script = () => Promise.reject(new TransportError("connect", "connection refused"));

const domains: Record<string, FailureDomain> = {
  a: { operator: "a", hosting: "aws", region: "us-east-1" },
  b: { operator: "b", hosting: "gcp", region: "eu" },
  c: { operator: "c", hosting: "hetzner", region: "de" },
};

function setup(scripts: Record<string, Script>, budget = { ratio: 0.2, minPerSecond: 5 }) {
  let head = 100;
  const refreshed: string[][] = [];
  const clock = createFakeClock();
  const transports = Object.fromEntries(Object.entries(scripts).map(([id, s]) => [id, scripted(s)]));
  const upstreams: Upstream[] = Object.keys(scripts).map((id) => {
    const u = createUpstream(
      { id, domain: domains[id]! },
      { clock, transport: transports[id]!, maxResponseBytes: 1 << 20, breaker: {} },
    );
    u.admission = "admitted";
    return u;
  });
  const domainHealth = createDomainHealth();
  const target: ExecuteTarget = {
    upstreams,
    views: (now) => upstreams.map((u) => viewOf(u, now, head, domainHealth.isDown(u.outageDomain, now))),
    refreshHeads: async (ids) => {
      refreshed.push(ids);
      head = 101;
    },
    domainHealth,
    budget: createRetryBudget(budget),
    latency: createLatencyWindow(),
    hedgeDelay: { ms: 0, computedAt: Number.NEGATIVE_INFINITY },
    routing: {
      requestTimeoutMs: 5_000,
      attemptTimeoutMs: 60_000,
      heavyAttemptTimeoutMs: 60_000,
      maxAttempts: 4,
      hedgeQuantile: 0.9,
      hedgeMinDelayMs: 50,
      hedgeMaxDelayMs: 300,
      defaultBackoffMs: 1_000,
    },
  };
  let seed = 1;
  const ctx: EngineContext = {
    clock,
    random: {
      next: () => {
        seed = (seed * 16807) % 2147483647;
        return (seed - 1) / 2147483646;
      },
    },
    logger: silentLogger,
    store: createMemoryStore(),
    createTransport: () => {
      throw new Error("unused");
    },
  };
  return { clock, transports, upstreams, target, ctx, refreshed };
}

const read: CallPlan = {
  method: "eth_getBalance",
  params: ["0x00", "0x64"],
  heavy: false,
  minBlock: 100,
};

describe("execute", () => {
  test("a refused connection fails over to another domain at once", async () => {
    const { ctx, target, transports } = setup({ a: refused, b: () => ok("0x1") });
    target.upstreams[1]!.latency.record(500, ctx.clock.now()); // make b the less likely first pick
    const r = await execute(ctx, target, read);
    assert.deepEqual(r, { ok: true, result: "0x1", upstream: "b" });
    assert.ok(transports.b!.calls.length === 1);
  });

  test("a slow first attempt is hedged in another domain; the loser is cancelled", async () => {
    let aborted = false;
    const { ctx, target, clock, upstreams } = setup({
      a: (b, signal) => {
        signal.addEventListener("abort", () => {
          aborted = true;
        });
        return never(b, signal);
      },
      b: () => ok("0x2"),
    });
    upstreams[1]!.latency.record(10, clock.now()); // a is (almost surely) picked first
    upstreams[0]!.latency.record(1, clock.now());
    const pending = execute(ctx, target, read);
    await new Promise((resolve) => setImmediate(resolve)); // let the first attempt start and the hedge timer be set
    clock.advance(300);
    const r = await pending;
    assert.deepEqual(r, { ok: true, result: "0x2", upstream: "b" });
    assert.equal(aborted, true);
  });

  test("a revert is the answer: one attempt only", async () => {
    const revert: Script = () =>
      Promise.resolve({
        status: 200,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, message: "execution reverted", data: "0x" } }),
      });
    const { ctx, target, transports } = setup({ a: revert, b: revert });
    const r = await execute(ctx, target, read);
    assert.equal(r.ok, false);
    assert.ok("rpcError" in r && r.rpcError.code === 3);
    assert.equal(transports.a!.calls.length + transports.b!.calls.length, 1);
  });

  test("when every upstream is rate limited the call fails at once with rate_limited and a retry-after", async () => {
    const limited: Script = () => Promise.resolve({ status: 429, retryAfter: "7", body: "" });
    const { ctx, target } = setup({ a: limited, b: limited });
    const r = await execute(ctx, target, read);
    assert.ok(!r.ok && "error" in r && r.error.code === "rate_limited");
    assert.ok((r as { error: { retryAfterSeconds: number } }).error.retryAfterSeconds >= 6);
    // Now both are backing off: the next call does not touch them.
    const again = await execute(ctx, target, read);
    assert.ok(!again.ok && "error" in again && again.error.code === "rate_limited");
  });

  test("with an empty retry budget a failure is not retried", async () => {
    const { ctx, target, transports } = setup({ a: refused, b: refused }, { ratio: 0, minPerSecond: 0 });
    const r = await execute(ctx, target, read);
    assert.ok(!r.ok && "error" in r && r.error.code === "unavailable");
    assert.equal(transports.a!.calls.length + transports.b!.calls.length, 1);
  });

  test("upstreams just behind the needed block are re-polled once before the call gives up", async () => {
    const { ctx, target, transports, refreshed } = setup({ a: () => ok("0x1") });
    const r = await execute(ctx, target, { ...read, minBlock: 101 });
    assert.deepEqual(r, { ok: true, result: "0x1", upstream: "a" });
    assert.deepEqual(refreshed, [["a"]]);
    assert.equal(transports.a!.calls.length, 1);
  });

  test("a block beyond every upstream's head is unavailable, not routed", async () => {
    const { ctx, target, transports } = setup({ a: () => ok("0x1") });
    const r = await execute(ctx, target, { ...read, minBlock: 110 });
    assert.ok(!r.ok && "error" in r && /ahead of every upstream/.test(r.error.message));
    assert.equal(transports.a!.calls.length, 0);
  });

  test("a failed verification counts against an upstream only once another upstream's answer verifies", async () => {
    const good = () => ok("0xgood");
    const bad = () => ok("0xbad");
    const verify = (r: unknown) =>
      r === "0xgood" ? { ok: true as const, value: r } : { ok: false as const, reason: "no" };
    const confirmed = setup({ a: bad, b: good });
    const disputes: string[] = [];
    confirmed.target.onDispute = (u) => disputes.push(u.id);
    confirmed.target.upstreams[1]!.latency.record(40, confirmed.ctx.clock.now()); // a first
    const r = await execute(confirmed.ctx, confirmed.target, { ...read, verify });
    assert.deepEqual(r, { ok: true, result: "0xgood", upstream: "b" });
    assert.deepEqual(disputes, ["a"]);

    // Nobody verifies: maybe the anchor is stale, not the upstreams — no dispute, and the caller is told.
    const unconfirmed = setup({ a: bad, b: bad });
    const none: string[] = [];
    let told = 0;
    unconfirmed.target.onDispute = (u) => none.push(u.id);
    const failed = await execute(unconfirmed.ctx, unconfirmed.target, {
      ...read,
      verify,
      onUnconfirmedDisputes: (n) => {
        told = n;
      },
    });
    assert.equal(failed.ok, false);
    assert.deepEqual(none, []);
    assert.equal(told, 2);
  });

  test("the request deadline ends a call whose attempts hang", async () => {
    const { ctx, target, clock } = setup({ a: never, b: never });
    const pending = execute(ctx, target, read);
    clock.advance(300);
    clock.advance(5_000);
    const r = await pending;
    assert.ok(!r.ok && "error" in r && r.error.code === "timeout");
  });
});
