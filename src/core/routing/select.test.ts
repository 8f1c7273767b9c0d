import assert from "node:assert/strict";
import { test } from "node:test";
import type { Random } from "../ports.ts";
import {
  earliestBackoffEnd,
  expectedCostMs,
  type PickOptions,
  pickUpstream,
  UNKNOWN_LATENCY_MS,
  type UpstreamView,
  unusableReason,
} from "./select.ts";

const NOW = 1_000_000;

/** mulberry32: a small seeded PRNG, so every draw sequence is reproducible. */
function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    },
  };
}

function view(id: string, overrides: Partial<UpstreamView> = {}): UpstreamView {
  return {
    id,
    domain: `cloud-${id}/region`,
    latencyMs: 20,
    errorRate: 0,
    weight: 1,
    domainDown: false,
    backoffUntil: 0,
    cordoned: false,
    head: 100,
    ...overrides,
  };
}

function options(overrides: Partial<PickOptions> = {}): PickOptions {
  return { now: NOW, random: mulberry32(1), exclude: new Set(), avoidDomains: new Set(), ...overrides };
}

function counts(
  views: UpstreamView[],
  picks: number,
  seed: number,
  extra: Partial<PickOptions> = {},
): Map<string, number> {
  const random = mulberry32(seed);
  const out = new Map<string, number>(views.map((v) => [v.id, 0]));
  for (let i = 0; i < picks; i++) {
    const picked = pickUpstream(views, options({ random, ...extra }));
    assert.ok(picked);
    out.set(picked.id, out.get(picked.id)! + 1);
  }
  return out;
}

test("unusableReason names why an upstream is skipped, in order", () => {
  const o = options({ exclude: new Set(["x"]), minBlock: 50 });
  assert.equal(unusableReason(view("ok"), o), undefined);
  assert.equal(unusableReason(view("x"), o), "excluded");
  assert.equal(unusableReason(view("c", { cordoned: true }), o), "cordoned");
  assert.equal(unusableReason(view("b", { weight: 0 }), o), "breaker_open");
  assert.equal(unusableReason(view("r", { backoffUntil: NOW + 1 }), o), "backoff");
  assert.equal(unusableReason(view("r", { backoffUntil: NOW }), o), undefined);
  assert.equal(unusableReason(view("h", { head: 49 }), o), "behind");
  assert.equal(unusableReason(view("h", { head: 50 }), o), undefined);
  assert.equal(unusableReason(view("h", { head: undefined }), o), "behind");
  assert.equal(unusableReason(view("h", { head: undefined }), options()), undefined);
  assert.equal(unusableReason(view("d", { domainDown: true }), o), "domain_down");
  // The first reason wins.
  assert.equal(unusableReason(view("x", { cordoned: true, weight: 0 }), o), "excluded");
  assert.equal(unusableReason(view("c", { cordoned: true, weight: 0, domainDown: true }), o), "cordoned");
});

test("pickUpstream skips every unusable upstream and returns undefined when none is left", () => {
  const views = [
    view("cordoned", { cordoned: true }),
    view("open", { weight: 0 }),
    view("limited", { backoffUntil: NOW + 10_000 }),
    view("behind", { head: 10 }),
    view("down", { domainDown: true }),
    view("tried"),
  ];
  const o = options({ exclude: new Set(["tried"]), minBlock: 50 });
  assert.equal(pickUpstream(views, o), undefined);
  const withGood = [...views, view("good")];
  for (let i = 0; i < 100; i++) assert.equal(pickUpstream(withGood, o)?.id, "good");
});

test("a domain not yet tried is preferred, even when slower", () => {
  const fast = view("fast", { domain: "aws/us-east-1", latencyMs: 5 });
  const sameDomain = view("same", { domain: "aws/us-east-1", latencyMs: 5 });
  const other = view("other", { domain: "gcp/europe-west1", latencyMs: 500 });
  const o = options({ exclude: new Set(["fast"]), avoidDomains: new Set(["aws/us-east-1"]) });
  for (let i = 0; i < 1_000; i++) assert.equal(pickUpstream([fast, sameDomain, other], o)?.id, "other");
});

test("when only tried domains are left, they still serve", () => {
  const a = view("a", { domain: "aws/us-east-1" });
  const b = view("b", { domain: "aws/us-east-1" });
  const o = options({ exclude: new Set(["a"]), avoidDomains: new Set(["aws/us-east-1"]) });
  assert.equal(pickUpstream([a, b], o)?.id, "b");
});

test("the weighted choice is deterministic for a seeded random", () => {
  const views = [view("a", { latencyMs: 10 }), view("b", { latencyMs: 30 }), view("c", { latencyMs: 60 })];
  const first = counts(views, 2_000, 42);
  const second = counts(views, 2_000, 42);
  assert.deepEqual(first, second);
  assert.notDeepEqual(counts(views, 2_000, 43), first);
});

test("over 10,000 picks, most traffic goes to the fastest and the slow still get a share", () => {
  const views = [view("fast", { latencyMs: 10 }), view("medium", { latencyMs: 40 }), view("slow", { latencyMs: 200 })];
  const c = counts(views, 10_000, 0xc0ffee);
  // Weights 1/cost²: 1/100, 1/1600, 1/40000 → shares ≈ 93.9 %, 5.9 %, 0.2 %.
  assert.ok(c.get("fast")! > 9_200, `fast got ${c.get("fast")}`);
  assert.ok(c.get("medium")! > 400 && c.get("medium")! < 800, `medium got ${c.get("medium")}`);
  assert.ok(c.get("slow")! > 0 && c.get("slow")! < 60, `slow got ${c.get("slow")}`);
});

test("errors and slow-start weight shift traffic away", () => {
  const c = counts([view("clean"), view("flaky", { errorRate: 0.5 })], 10_000, 7);
  // Flaky cost = 20 × (1 + 16 × 0.5) = 180 → weight 1/81 of the clean one's.
  assert.ok(c.get("flaky")! > 50 && c.get("flaky")! < 200, `flaky got ${c.get("flaky")}`);
  const s = counts([view("full"), view("ramping", { weight: 0.1 })], 10_000, 7);
  assert.ok(s.get("ramping")! > 700 && s.get("ramping")! < 1_150, `ramping got ${s.get("ramping")}`);
});

test("equal upstreams share traffic evenly", () => {
  const c = counts([view("a"), view("b"), view("c"), view("d")], 10_000, 99);
  for (const [id, n] of c) assert.ok(n > 2_250 && n < 2_750, `${id} got ${n}`);
});

test("expectedCostMs: unknown latency counts as the default, never below 1 ms", () => {
  assert.equal(expectedCostMs(view("u", { latencyMs: undefined })), UNKNOWN_LATENCY_MS);
  assert.equal(expectedCostMs(view("z", { latencyMs: 0 })), 1);
  assert.equal(expectedCostMs(view("e", { latencyMs: 10, errorRate: 1 })), 170);
});

test("a random source at its edges still picks a usable upstream", () => {
  const views = [view("a"), view("b", { latencyMs: 40 })];
  assert.equal(pickUpstream(views, options({ random: { next: () => 0 } }))?.id, "a");
  assert.equal(pickUpstream(views, options({ random: { next: () => 0.999_999_999 } }))?.id, "b");
});

test("earliestBackoffEnd: the soonest end of backoff among upstreams held back only by it", () => {
  const views = [
    view("a", { backoffUntil: NOW + 10_000 }),
    view("b", { backoffUntil: NOW + 3_000 }),
    // Backing off, but cordoned or with an open breaker: waiting for it would not help.
    view("c", { backoffUntil: NOW + 1_000, cordoned: true }),
    view("d", { backoffUntil: NOW + 500, weight: 0 }),
    view("e", { backoffUntil: NOW + 700, head: 5 }),
  ];
  assert.equal(earliestBackoffEnd(views, options({ minBlock: 50 })), NOW + 3_000);
  assert.equal(earliestBackoffEnd(views, options({ minBlock: 50, exclude: new Set(["b"]) })), NOW + 10_000);
  assert.equal(earliestBackoffEnd([view("x")], options()), undefined);
  assert.equal(earliestBackoffEnd([view("x", { backoffUntil: NOW })], options()), undefined);
  assert.equal(earliestBackoffEnd([], options()), undefined);
});
