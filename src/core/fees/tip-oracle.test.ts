import assert from "node:assert/strict";
import { test } from "node:test";
import { blockTipSamples, effectiveTip, suggestTip, TIP_ORACLE_MAX_WEI } from "./tip-oracle.ts";

const hex = (n: bigint) => `0x${n.toString(16)}`;

test("the effective tip: the stated tip, capped by the fee cap's headroom over the base fee; legacy pays price − base", () => {
  assert.equal(effectiveTip({ maxFeePerGas: hex(100n), maxPriorityFeePerGas: hex(5n) }, 90n), 5n);
  assert.equal(effectiveTip({ maxFeePerGas: hex(100n), maxPriorityFeePerGas: hex(20n) }, 90n), 10n);
  assert.equal(effectiveTip({ gasPrice: hex(100n) }, 90n), 10n);
  assert.equal(effectiveTip({ type: "0x7e" }, 90n), undefined, "a deposit pays no tip");
});

test("each block gives its three lowest tips of at least 2 wei; the suggestion is their 60th percentile, capped", () => {
  const tx = (tip: bigint) => ({ maxFeePerGas: hex(1_000n + tip), maxPriorityFeePerGas: hex(tip) });
  assert.deepEqual(blockTipSamples([tx(9n), tx(1n), tx(7n), tx(3n), tx(5n)], 1_000n), [3n, 5n, 7n]);
  assert.deepEqual(blockTipSamples([], 1_000n), []);
  assert.equal(suggestTip([[3n, 5n, 7n], [2n], [10n, 11n]], 1n), 7n); // sorted 2 3 5 7 10 11 → index 3
  assert.equal(suggestTip([[], []], 42n), 42n, "an idle chain: the fallback");
  assert.equal(suggestTip([[TIP_ORACLE_MAX_WEI * 2n]], 1n), TIP_ORACLE_MAX_WEI);
});
