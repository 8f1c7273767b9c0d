import assert from "node:assert/strict";
import { test } from "node:test";
import { createLatencyWindow, hedgeDelayMs, LATENCY_DEFAULTS, type LatencyWindow } from "./latency.ts";

test("an empty window knows nothing", () => {
  const window = createLatencyWindow();
  assert.equal(window.quantile(0.5, 0), undefined);
  assert.equal(window.ewma(), undefined);
  assert.equal(window.count(0), 0);
});

test("quantiles use the nearest rank over 1..100", () => {
  const window = createLatencyWindow();
  // Recorded out of order so the sort is exercised.
  for (let i = 100; i >= 1; i--) window.record(i, 0);
  assert.equal(window.count(0), 100);
  assert.equal(window.quantile(0, 0), 1);
  assert.equal(window.quantile(0.5, 0), 50);
  assert.equal(window.quantile(0.9, 0), 90);
  assert.equal(window.quantile(0.99, 0), 99);
  assert.equal(window.quantile(1, 0), 100);
});

test("a single sample is every quantile", () => {
  const window = createLatencyWindow();
  window.record(42, 0);
  assert.equal(window.quantile(0, 0), 42);
  assert.equal(window.quantile(0.9, 0), 42);
  assert.equal(window.quantile(1, 0), 42);
});

test("the ring keeps only the newest `size` samples", () => {
  const window = createLatencyWindow({ size: 4 });
  for (const ms of [1_000, 1_000, 1_000, 1_000, 1, 2, 3, 4]) window.record(ms, 0);
  assert.equal(window.count(0), 4);
  assert.equal(window.quantile(1, 0), 4);
});

test("samples older than maxAgeMs drop out of quantiles and counts", () => {
  const window = createLatencyWindow({ maxAgeMs: 1_000 });
  window.record(900, 0);
  window.record(10, 500);
  assert.equal(window.quantile(1, 999), 900);
  assert.equal(window.count(999), 2);
  assert.equal(window.quantile(1, 1_000), 10, "a sample exactly maxAgeMs old is no longer younger than it");
  assert.equal(window.count(1_000), 1);
  assert.equal(window.quantile(1, 1_500), undefined);
  assert.equal(window.count(1_500), 0);
  window.record(20, 1_600);
  assert.equal(window.quantile(0.5, 1_600), 20);
});

test("the cached snapshot is refreshed by new samples and by ageing", () => {
  const window = createLatencyWindow({ maxAgeMs: 100 });
  window.record(5, 0);
  assert.equal(window.quantile(1, 10), 5);
  window.record(50, 20);
  assert.equal(window.quantile(1, 20), 50, "a new sample invalidates the cache");
  assert.equal(window.quantile(0, 99), 5);
  assert.equal(window.quantile(0, 100), 50, "ageing invalidates the cache");
  // A clock step back must not reuse a snapshot that excluded samples now in range again.
  assert.equal(window.quantile(0, 50), 5);
});

test("quantile() between samples reuses the sorted snapshot", () => {
  const window = createLatencyWindow();
  for (let i = 0; i < 256; i++) window.record((i * 7919) % 1000, 0);
  const originalSort = Float64Array.prototype.sort;
  let sorts = 0;
  Float64Array.prototype.sort = function (this: Float64Array, compare?: (a: number, b: number) => number) {
    sorts++;
    return originalSort.call(this, compare);
  };
  try {
    for (let i = 0; i < 1_000; i++) window.quantile(0.9, i);
    assert.equal(sorts, 1);
    window.record(1, 1_000);
    window.quantile(0.9, 1_000);
    window.quantile(0.5, 1_001);
    assert.equal(sorts, 2);
  } finally {
    Float64Array.prototype.sort = originalSort;
  }
});

test("ewma starts at the first sample and moves by alpha", () => {
  const window = createLatencyWindow({ ewmaAlpha: 0.5 });
  window.record(100, 0);
  assert.equal(window.ewma(), 100);
  window.record(200, 1);
  assert.equal(window.ewma(), 150);
  window.record(50, 2);
  assert.equal(window.ewma(), 100);
  assert.equal(createLatencyWindow().ewma(), undefined);
});

test("garbage samples are ignored; negative ones count as 0", () => {
  const window = createLatencyWindow();
  window.record(Number.NaN, 0);
  window.record(Number.POSITIVE_INFINITY, 0);
  assert.equal(window.count(0), 0);
  assert.equal(window.ewma(), undefined);
  window.record(-3, 0);
  assert.equal(window.quantile(1, 0), 0);
  assert.equal(window.ewma(), 0);
});

test("out-of-range quantiles and options are rejected", () => {
  const window = createLatencyWindow();
  assert.throws(() => window.quantile(1.1, 0), RangeError);
  assert.throws(() => window.quantile(-0.1, 0), RangeError);
  assert.throws(() => window.quantile(Number.NaN, 0), RangeError);
  assert.throws(() => createLatencyWindow({ size: 0 }), RangeError);
  assert.throws(() => createLatencyWindow({ size: 1.5 }), RangeError);
  assert.throws(() => createLatencyWindow({ ewmaAlpha: 0 }), RangeError);
  assert.throws(() => createLatencyWindow({ maxAgeMs: -1 }), RangeError);
});

function windowOf(samples: number[], now = 0): LatencyWindow {
  const window = createLatencyWindow();
  for (const ms of samples) window.record(ms, now);
  return window;
}

test("hedgeDelayMs waits for the p90 of recent latency", () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 + i);
  assert.equal(hedgeDelayMs(windowOf(samples), 0), 189);
  assert.equal(hedgeDelayMs(windowOf(samples), 0, { quantile: 0.5 }), 149);
});

test("hedgeDelayMs clamps to [minMs, maxMs]", () => {
  assert.equal(hedgeDelayMs(windowOf([1, 2, 3]), 0), LATENCY_DEFAULTS.hedgeMinMs);
  assert.equal(hedgeDelayMs(windowOf([5_000]), 0), LATENCY_DEFAULTS.hedgeMaxMs);
  assert.equal(hedgeDelayMs(windowOf([5_000]), 0, { maxMs: 1_000 }), 1_000);
  assert.equal(hedgeDelayMs(windowOf([1]), 0, { minMs: 10 }), 10);
});

test("hedgeDelayMs falls back without a window or without recent samples", () => {
  assert.equal(hedgeDelayMs(undefined, 0), 150);
  assert.equal(hedgeDelayMs(createLatencyWindow(), 0), 150);
  assert.equal(hedgeDelayMs(windowOf([280]), 60_000), 150, "samples a minute old are not recent");
  assert.equal(hedgeDelayMs(undefined, 0, { fallbackMs: 10_000 }), 300, "the fallback is clamped too");
});
