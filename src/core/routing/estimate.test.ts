import assert from "node:assert/strict";
import { test } from "node:test";
import { combineEstimates } from "./estimate.ts";

test("three or more estimates: the median, so one domain's outlier either way never decides", () => {
  assert.equal(combineEstimates([10n, 11n, 500n], "low"), 11n);
  assert.equal(combineEstimates([1n, 11n, 12n], "high"), 11n);
  assert.equal(combineEstimates([10n, 11n, 12n, 900n], "low"), 11n);
  assert.equal(combineEstimates([10n, 11n, 12n, 900n], "high"), 12n);
});

test("two estimates: the side that is safe for the user", () => {
  assert.equal(combineEstimates([500n, 10n], "low"), 10n);
  assert.equal(combineEstimates([21_000n, 50_000n], "high"), 50_000n);
});

test("one estimate is itself; none is an error", () => {
  assert.equal(combineEstimates([7n], "low"), 7n);
  assert.throws(() => combineEstimates([], "low"), RangeError);
});
