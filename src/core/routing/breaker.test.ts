import assert from "node:assert/strict";
import { test } from "node:test";
import { BREAKER_DEFAULTS, type Breaker, createBreaker } from "./breaker.ts";

function fail(breaker: Breaker, now: number, times: number): void {
  for (let i = 0; i < times; i++) breaker.onFailure(now);
}

/** Opens a fresh default breaker at `now` through consecutive failures. */
function openedAt(now: number, options = {}): Breaker {
  const breaker = createBreaker(options);
  fail(breaker, now, BREAKER_DEFAULTS.failureThreshold);
  assert.equal(breaker.state(now), "open");
  return breaker;
}

test("a new breaker is closed, allows everything and has full weight", () => {
  const breaker = createBreaker();
  assert.equal(breaker.state(0), "closed");
  for (let i = 0; i < 100; i++) assert.equal(breaker.allow(0), true);
  assert.equal(breaker.weight(0), 1);
  assert.deepEqual(breaker.snapshot(0), { state: "closed", consecutiveFailures: 0, errorRate: 0 });
});

test("opens on exactly failureThreshold consecutive failures, not one fewer", () => {
  const breaker = createBreaker();
  fail(breaker, 1_000, 4);
  assert.equal(breaker.state(1_000), "closed");
  breaker.onFailure(1_000);
  assert.equal(breaker.state(1_000), "open");
  assert.equal(breaker.allow(1_000), false);
  assert.equal(breaker.weight(1_000), 0);
  assert.deepEqual(breaker.snapshot(1_000), {
    state: "open",
    consecutiveFailures: 5,
    openedAt: 1_000,
    openUntil: 3_000,
    errorRate: 1,
  });
});

test("a success resets the consecutive count", () => {
  const breaker = createBreaker();
  fail(breaker, 0, 4);
  breaker.onSuccess(0);
  fail(breaker, 0, 4);
  assert.equal(breaker.state(0), "closed");
  assert.equal(breaker.snapshot(0).consecutiveFailures, 4);
});

test("opens when the failure rate is exactly at the threshold with enough requests", () => {
  const breaker = createBreaker();
  // 10 failures and 10 successes interleaved: never 5 in a row, rate reaches 0.5 on the 20th outcome.
  for (let i = 0; i < 9; i++) {
    breaker.onSuccess(100 + i);
    breaker.onFailure(100 + i);
  }
  breaker.onSuccess(200);
  assert.equal(breaker.state(200), "closed", "19 outcomes are below minRequestsInWindow");
  breaker.onFailure(200);
  assert.equal(breaker.snapshot(200).errorRate, 0.5);
  assert.equal(breaker.state(200), "open");
});

test("stays closed just below the rate threshold", () => {
  const breaker = createBreaker();
  for (let i = 0; i < 11; i++) breaker.onSuccess(0);
  for (let i = 0; i < 9; i++) {
    breaker.onFailure(0);
    if (i % 4 === 3) breaker.onSuccess(0); // keep the consecutive count under 5
  }
  // 13 successes, 9 failures: 0.409 < 0.5
  assert.equal(breaker.state(0), "closed");
  assert.ok(breaker.snapshot(0).errorRate < 0.5);
});

test("a high failure rate with fewer than minRequestsInWindow outcomes does not open", () => {
  const breaker = createBreaker({ failureThreshold: 100 });
  for (let i = 0; i < 19; i++) breaker.onFailure(0);
  assert.equal(breaker.state(0), "closed");
  assert.equal(breaker.snapshot(0).errorRate, 1);
});

test("failures older than the window no longer count toward the rate", () => {
  const breaker = createBreaker({ failureThreshold: 100 });
  for (let i = 0; i < 15; i++) breaker.onFailure(0);
  // 10 s later the old bucket has slid out: 5 fresh successes and 4 fresh failures are not enough requests.
  for (let i = 0; i < 5; i++) breaker.onSuccess(10_000);
  for (let i = 0; i < 4; i++) breaker.onFailure(10_000);
  assert.equal(breaker.state(10_000), "closed");
  assert.equal(breaker.snapshot(10_000).errorRate, 4 / 9);
});

test("open becomes half_open once openMs has elapsed, not before", () => {
  const breaker = openedAt(0);
  assert.equal(breaker.state(1_999), "open");
  assert.equal(breaker.allow(1_999), false);
  assert.equal(breaker.state(2_000), "half_open");
});

test("half_open allows only halfOpenMaxProbes concurrent probes; release and outcomes free slots", () => {
  const breaker = openedAt(0, { halfOpenMaxProbes: 2 });
  assert.equal(breaker.allow(2_000), true);
  assert.equal(breaker.allow(2_000), true);
  assert.equal(breaker.allow(2_001), false);
  breaker.release(2_002);
  assert.equal(breaker.allow(2_003), true);
  assert.equal(breaker.allow(2_003), false);
  assert.equal(breaker.state(2_003), "half_open");
});

test("the default half_open admits exactly one probe", () => {
  const breaker = openedAt(0);
  assert.equal(breaker.allow(5_000), true);
  assert.equal(breaker.allow(5_000), false);
  breaker.release(5_001);
  assert.equal(breaker.allow(5_002), true);
});

test("a probe success closes the breaker and resets its window", () => {
  const breaker = openedAt(0);
  assert.equal(breaker.allow(2_000), true);
  breaker.onSuccess(2_100);
  assert.equal(breaker.state(2_100), "closed");
  assert.deepEqual(breaker.snapshot(2_100), { state: "closed", consecutiveFailures: 0, errorRate: 0 });
  // One new failure must not re-open it through the pre-outage failures.
  breaker.onFailure(2_200);
  assert.equal(breaker.state(2_200), "closed");
});

test("each failed probe doubles the open period, capped at maxOpenMs", () => {
  const breaker = openedAt(0);
  let now = 0;
  const periods: number[] = [];
  for (let i = 0; i < 8; i++) {
    const { openUntil } = breaker.snapshot(now);
    assert.ok(openUntil !== undefined);
    now = openUntil;
    assert.equal(breaker.state(now), "half_open");
    assert.equal(breaker.allow(now), true);
    breaker.onFailure(now);
    const snap = breaker.snapshot(now);
    assert.equal(snap.state, "open");
    periods.push(snap.openUntil! - now);
  }
  assert.deepEqual(periods, [4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
});

test("closing resets the open period to openMs", () => {
  const breaker = openedAt(0);
  breaker.allow(2_000);
  breaker.onFailure(2_000); // open for 4 s
  breaker.allow(6_000);
  breaker.onSuccess(6_000);
  fail(breaker, 7_000, 5);
  assert.equal(breaker.snapshot(7_000).openUntil, 9_000);
});

test("outcomes of stragglers while open change nothing", () => {
  const breaker = openedAt(0);
  breaker.onSuccess(500);
  breaker.onFailure(600);
  assert.deepEqual(breaker.snapshot(700), {
    state: "open",
    consecutiveFailures: 5,
    openedAt: 0,
    openUntil: 2_000,
    errorRate: 1,
  });
});

test("slow-start weight ramps linearly from 0.1 at close to 1 at slowStartMs", () => {
  const breaker = openedAt(0);
  assert.equal(breaker.weight(1_000), 0);
  assert.equal(breaker.weight(2_000), 0.1, "half_open gets a trickle");
  breaker.allow(2_000);
  breaker.onSuccess(10_000);
  assert.equal(breaker.weight(10_000), 0.1);
  assert.equal(breaker.weight(25_000), 0.55);
  assert.equal(breaker.weight(40_000), 1);
  assert.equal(breaker.weight(1_000_000), 1);
});

test("slowStartMs 0 gives full weight right after closing", () => {
  const breaker = openedAt(0, { slowStartMs: 0 });
  breaker.allow(2_000);
  breaker.onSuccess(2_000);
  assert.equal(breaker.weight(2_000), 1);
});

test("failing during slow start re-opens and drops the weight to 0", () => {
  const breaker = openedAt(0);
  breaker.allow(2_000);
  breaker.onSuccess(2_000);
  fail(breaker, 3_000, 5);
  assert.equal(breaker.weight(3_000), 0);
  breaker.allow(5_000);
  breaker.onSuccess(5_000);
  assert.equal(breaker.weight(5_000), 0.1, "slow start starts over from the new close");
});

test("forceOpen opens for the given period and never shortens a longer one", () => {
  const breaker = createBreaker();
  breaker.forceOpen(0, 20_000);
  assert.equal(breaker.state(19_999), "open");
  assert.equal(breaker.allow(0), false);
  breaker.forceOpen(1_000, 5_000);
  assert.equal(breaker.snapshot(1_000).openUntil, 20_000);
  breaker.forceOpen(1_000, 30_000);
  assert.equal(breaker.snapshot(1_000).openUntil, 31_000);
  assert.equal(breaker.state(31_000), "half_open");
});

test("forceOpen with garbage durations still probes eventually", () => {
  const negative = createBreaker();
  negative.forceOpen(0, -5);
  assert.equal(negative.state(0), "half_open");
  const infinite = createBreaker();
  infinite.forceOpen(0, Number.POSITIVE_INFINITY);
  assert.equal(infinite.state(59_999), "open");
  assert.equal(infinite.state(60_000), "half_open");
});

test("forceOpen during half_open cancels the probe slots", () => {
  const breaker = openedAt(0);
  assert.equal(breaker.allow(2_000), true);
  breaker.forceOpen(2_000, 1_000);
  assert.equal(breaker.state(3_000), "half_open");
  assert.equal(breaker.allow(3_000), true);
});

test("release outside half_open is harmless", () => {
  const breaker = createBreaker();
  breaker.release(0);
  assert.equal(breaker.allow(0), true);
});

test("nonsense options are rejected", () => {
  assert.throws(() => createBreaker({ failureThreshold: 0 }), RangeError);
  assert.throws(() => createBreaker({ failureRateThreshold: 1.5 }), RangeError);
  assert.throws(() => createBreaker({ windowMs: 0 }), RangeError);
  assert.throws(() => createBreaker({ openMs: 10_000, maxOpenMs: 5_000 }), RangeError);
  assert.throws(() => createBreaker({ halfOpenMaxProbes: 0 }), RangeError);
  assert.throws(() => createBreaker({ slowStartMs: Number.NaN }), RangeError);
});

test("a good health probe ends an open period at once, however long backoff had grown; a flapping upstream still backs off", () => {
  const b = createBreaker({ failureThreshold: 1, openMs: 1_000, maxOpenMs: 64_000 });
  b.onFailure(0);
  // Failed probes double the open period up to 16 s.
  for (let t = 1_000, period = 1_000; period < 16_000; ) {
    assert.equal(b.allow(t), true, `half-open at ${t}`);
    b.onFailure(t);
    period *= 2;
    t += period;
  }
  assert.equal(b.state(20_000), "open");
  b.onProbeSuccess(20_000);
  assert.equal(b.state(20_000), "half_open", "back at once");
  assert.equal(b.allow(20_000), true);
  // The first request fails: open again, with the period doubled from where it was (not reset to openMs).
  b.onFailure(20_001);
  assert.equal(b.state(20_001 + 31_000), "open");
  assert.equal(b.state(20_001 + 32_000), "half_open");
  assert.equal(b.allow(52_001), true);
  b.onSuccess(52_002);
  assert.equal(b.state(52_002), "closed");
  assert.ok(b.weight(52_002) < 0.2, "slow start after closing");
  // A probe success while closed or half-open changes nothing.
  b.onProbeSuccess(52_003);
  assert.equal(b.state(52_003), "closed");
});
