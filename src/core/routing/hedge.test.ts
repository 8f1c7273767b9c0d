import assert from "node:assert/strict";
import { test } from "node:test";
import { decideHedge } from "./hedge.ts";

test("an attempt past its upstream's p90 is hedged when another upstream answers in half the time waited", () => {
  assert.deepEqual(decideHedge({ elapsedMs: 50, primaryP90Ms: 5, primaryTypicalMs: 3, bestAlternativeMs: 3 }), {
    hedge: true,
  });
});

test("a known-slow upstream is hedged early when another is much faster", () => {
  assert.deepEqual(decideHedge({ elapsedMs: 50, primaryP90Ms: 2_100, primaryTypicalMs: 2_000, bestAlternativeMs: 3 }), {
    hedge: true,
  });
});

test("when every upstream is slow, a hedge would not win: wait, and re-check later", () => {
  assert.deepEqual(decideHedge({ elapsedMs: 300, primaryP90Ms: 820, primaryTypicalMs: 800, bestAlternativeMs: 800 }), {
    hedge: false,
    recheckInMs: 1_300,
  });
  // Past p90 but the alternatives are as slow: still no hedge until the wait is twice their typical latency.
  assert.deepEqual(decideHedge({ elapsedMs: 820, primaryP90Ms: 820, primaryTypicalMs: 800, bestAlternativeMs: 800 }), {
    hedge: false,
    recheckInMs: 780,
  });
  assert.deepEqual(
    decideHedge({ elapsedMs: 1_600, primaryP90Ms: 820, primaryTypicalMs: 800, bestAlternativeMs: 800 }),
    {
      hedge: true,
    },
  );
  // The fleet just turned slow: the primary looks late by its old p90, but the alternatives are known slow too.
  assert.deepEqual(decideHedge({ elapsedMs: 300, primaryP90Ms: 5, primaryTypicalMs: 400, bestAlternativeMs: 600 }), {
    hedge: false,
    recheckInMs: 900,
  });
});

test("no alternative, no hedge; no data on the primary counts as late", () => {
  assert.deepEqual(decideHedge({ elapsedMs: 50, primaryP90Ms: 5, primaryTypicalMs: 3, bestAlternativeMs: undefined }), {
    hedge: false,
    recheckInMs: undefined,
  });
  assert.deepEqual(
    decideHedge({ elapsedMs: 50, primaryP90Ms: undefined, primaryTypicalMs: undefined, bestAlternativeMs: 20 }),
    { hedge: true },
  );
});
