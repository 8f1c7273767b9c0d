import assert from "node:assert/strict";
import { test } from "node:test";
import { createRetryBudget, HEDGE_RESERVED_SHARE, RETRY_BUDGET_DEFAULTS } from "./retry-budget.ts";

test("steady 100 req/s for 20 s, every request wanting an extra attempt: extra <= 0.2 * requests + 5/s", () => {
  const budget = createRetryBudget();
  const requests: number[] = [];
  const granted: number[] = [];
  for (let now = 0; now < 20_000; now += 10) {
    budget.onRequest(now);
    requests.push(now);
    if (budget.tryAcquire(now)) granted.push(now);
  }
  assert.equal(requests.length, 2_000);
  assert.ok(granted.length <= 0.2 * 2_000 + 5 * 20, `${granted.length} extra attempts over budget`);
  // Every exact trailing 10 s window, not only the bucket-aligned ones, respects the bound.
  const count = (times: number[], end: number) => times.filter((t) => t > end - 10_000 && t <= end).length;
  for (let end = 0; end < 20_000; end += 10) {
    const extra = count(granted, end);
    assert.ok(extra <= 0.2 * count(requests, end) + 50, `${extra} extra attempts in the 10 s before ${end}`);
  }
  // The budget is actually spent: once warm, a full window holds at least the ratio share.
  const warm = budget.snapshot(19_999);
  assert.equal(warm.requests, 1_000);
  assert.ok(warm.extra >= 0.2 * warm.requests, `${warm.extra} extra attempts in the last window: budget left unused`);
});

test("a burst after idle gets the floor: minPerSecond * window seconds, then refuses", () => {
  const budget = createRetryBudget();
  const now = 1_000_000;
  let granted = 0;
  while (budget.tryAcquire(now)) granted++;
  assert.equal(granted, RETRY_BUDGET_DEFAULTS.minPerSecond * (RETRY_BUDGET_DEFAULTS.windowMs / 1000));
  assert.deepEqual(budget.snapshot(now), { requests: 0, extra: 50, available: 0 });
});

test("hedges leave their reserved share to retries: a stall's hedges cannot starve a crash's retries", () => {
  const budget = createRetryBudget({ minPerSecond: 0 });
  for (let i = 0; i < 1_000; i++) budget.onRequest(0);
  const allowance = 0.2 * 1_000;
  let hedges = 0;
  while (budget.tryAcquire(0, "hedge")) hedges++;
  assert.equal(hedges, allowance * (1 - HEDGE_RESERVED_SHARE));
  let retries = 0;
  while (budget.tryAcquire(0, "retry")) retries++;
  assert.equal(retries, allowance * HEDGE_RESERVED_SHARE, "the reserve is there for retries");
  assert.equal(budget.tryAcquire(0, "hedge"), false);
  // Retries spend the reserve first when they come first: hedges then get nothing, the total stays the same.
  const other = createRetryBudget({ minPerSecond: 0 });
  for (let i = 0; i < 1_000; i++) other.onRequest(0);
  for (let i = 0; i < allowance * HEDGE_RESERVED_SHARE; i++) assert.equal(other.tryAcquire(0), true);
  assert.equal(other.tryAcquire(0, "hedge"), false);
  assert.equal(other.snapshot(0).available, allowance * HEDGE_RESERVED_SHARE);
});

test("with a one-second window a burst after idle is allowed exactly minPerSecond", () => {
  const budget = createRetryBudget({ windowMs: 1_000 });
  budget.onRequest(0);
  assert.equal(budget.tryAcquire(0), true);
  // Long idle, then a burst with no primaries.
  let granted = 0;
  for (let i = 0; i < 100; i++) if (budget.tryAcquire(60_000)) granted++;
  assert.equal(granted, 5);
});

test("spent budget comes back only as buckets slide out of the window", () => {
  const budget = createRetryBudget();
  for (let i = 0; i < 50; i++) assert.equal(budget.tryAcquire(0), true);
  assert.equal(budget.tryAcquire(0), false);
  assert.equal(budget.tryAcquire(9_999), false);
  assert.equal(budget.snapshot(10_000).available, 50);
  assert.equal(budget.tryAcquire(10_000), true);
});

test("primary requests earn ratio extra attempts each", () => {
  const budget = createRetryBudget({ minPerSecond: 0 });
  assert.equal(budget.tryAcquire(0), false);
  for (let i = 0; i < 4; i++) budget.onRequest(0);
  assert.equal(budget.tryAcquire(0), false, "0.8 of an attempt is not one");
  budget.onRequest(0);
  assert.equal(budget.tryAcquire(0), true);
  assert.equal(budget.tryAcquire(0), false);
  assert.deepEqual(budget.snapshot(0), { requests: 5, extra: 1, available: 0 });
});

test("ratio arithmetic does not lose attempts to floating-point rounding", () => {
  const budget = createRetryBudget({ minPerSecond: 0, ratio: 0.29 });
  for (let i = 0; i < 100; i++) budget.onRequest(0);
  assert.equal(budget.snapshot(0).available, 29);
});

test("ratio 0 and minPerSecond 0 forbid every extra attempt", () => {
  const budget = createRetryBudget({ ratio: 0, minPerSecond: 0 });
  for (let i = 0; i < 1_000; i++) budget.onRequest(i);
  assert.equal(budget.tryAcquire(1_000), false);
});

test("a clock step backwards neither crashes nor mints budget", () => {
  const budget = createRetryBudget({ minPerSecond: 1, windowMs: 1_000 });
  assert.equal(budget.tryAcquire(5_000), true);
  assert.equal(budget.tryAcquire(4_950), false);
  assert.deepEqual(budget.snapshot(-10), { requests: 0, extra: 1, available: 0 });
  assert.equal(budget.tryAcquire(6_000), true, "the window slides again once time passes the latest seen");
});

test("nonsense options are rejected", () => {
  assert.throws(() => createRetryBudget({ ratio: -0.1 }), RangeError);
  assert.throws(() => createRetryBudget({ minPerSecond: Number.NaN }), RangeError);
  assert.throws(() => createRetryBudget({ windowMs: 0 }), RangeError);
});
