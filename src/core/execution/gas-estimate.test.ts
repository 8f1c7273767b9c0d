import assert from "node:assert/strict";
import { test } from "node:test";
import { estimateAgrees, estimateGasLimit, type Trial } from "./gas-estimate.ts";

/**
 * A transaction that succeeds from `need` gas on, charged `used` and holding `peak` before refunds; fails below with
 * `failure` (out of gas unless said). Counts its runs.
 */
function transaction(need: bigint, used: bigint, peak = used, failure: "out of gas" | "revert" = "out of gas") {
  const runs: bigint[] = [];
  const run = async (gas: bigint): Promise<Trial<string>> => {
    runs.push(gas);
    return gas >= need
      ? { kind: "success", gasUsed: used, peakGasUsed: peak }
      : { kind: "failed", outOfGas: failure === "out of gas", outcome: failure };
  };
  return { run, runs };
}

const within = (gas: bigint, need: bigint) => gas >= need && (gas - need) * 1000n < 15n * gas + 1000n;

test("the estimate is at least the lowest limit that succeeds and within 1.5 % of it", async () => {
  for (const [need, used, peak] of [
    [21_000n, 21_000n, 21_000n],
    [53_210n, 52_000n, 52_000n],
    // A sub-call forwarded 63/64 of what was left: the limit must be above what was used.
    [130_000n, 120_000n, 120_000n],
    // A refund: charged less than held.
    [47_000n, 26_000n, 46_000n],
    [2_900_000n, 2_500_000n, 2_800_000n],
  ] as const) {
    const { run, runs } = transaction(need, used, peak);
    const found = await estimateGasLimit(run, { highest: 3_000_000n, plainTransfer: false });
    assert.equal(found.kind, "estimate");
    const gas = (found as { gas: bigint }).gas;
    assert.ok(within(gas, need), `${gas} for ${need}`);
    assert.ok(runs.length <= 12, `${runs.length} runs for ${need}`);
  }
});

test("the first run is at the highest limit, the second at the gas held plus the stipend, scaled by 64/63", async () => {
  const { run, runs } = transaction(100_000n, 100_000n);
  const found = await estimateGasLimit(run, { highest: 1_000_000n, plainTransfer: false });
  assert.equal(runs[0], 1_000_000n);
  assert.equal(runs[1], ((100_000n + 2_300n) * 64n) / 63n);
  // Then halves of the bracket, until it is within 1.5 % of its top: two more runs here.
  assert.deepEqual(found, { kind: "estimate", gas: 100_980n });
  assert.equal(runs.length, 4);
});

test("a value transfer to an account without code is 21,000 when it succeeds with it, in one run", async () => {
  const { run, runs } = transaction(21_000n, 21_000n);
  assert.deepEqual(await estimateGasLimit(run, { highest: 30_000_000n, plainTransfer: true }), {
    kind: "estimate",
    gas: 21_000n,
  });
  assert.equal(runs.length, 1);
  // One that needs more (an access list, calldata) is searched for as any other.
  const other = transaction(23_400n, 23_400n);
  const found = await estimateGasLimit(other.run, { highest: 30_000_000n, plainTransfer: true });
  assert.ok(within((found as { gas: bigint }).gas, 23_400n));
});

test("a failure at the highest limit is the answer: a revert as itself, running out of gas as exceeding it", async () => {
  const revert = transaction(10_000_000n, 0n, 0n, "revert");
  assert.deepEqual(await estimateGasLimit(revert.run, { highest: 3_000_000n, plainTransfer: false }), {
    kind: "failed",
    outcome: "revert",
  });
  const loop = transaction(10_000_000n, 0n);
  assert.deepEqual(await estimateGasLimit(loop.run, { highest: 3_000_000n, plainTransfer: false }), {
    kind: "exceeds",
    allowance: 3_000_000n,
  });
});

test("a run that cannot succeed at any limit stops the search with its outcome", async () => {
  let n = 0;
  const run = async (): Promise<Trial<string>> =>
    ++n === 1 ? { kind: "success", gasUsed: 50_000n, peakGasUsed: 50_000n } : { kind: "stop", outcome: "unproven" };
  assert.deepEqual(await estimateGasLimit(run, { highest: 3_000_000n, plainTransfer: false }), {
    kind: "stop",
    outcome: "unproven",
  });
});

test("an upstream's estimate agrees when it is enough here and ours is not more than 1.5 % below it", () => {
  // Anvil's exact figure, below ours: agrees once it is shown to be enough.
  assert.equal(estimateAgrees(43_490n, 43_490n, false), true);
  assert.equal(estimateAgrees(43_867n, 43_490n, true), true);
  assert.equal(estimateAgrees(43_867n, 43_490n, false), false);
  // A liar's 21,000 is not enough.
  assert.equal(estimateAgrees(43_867n, 21_000n, false), false);
  // go-ethereum's figure may be above ours by up to its error ratio; an inflated one is not.
  assert.equal(estimateAgrees(100_000n, 101_500n, false), true);
  assert.equal(estimateAgrees(100_000n, 101_600n, false), false);
  assert.equal(estimateAgrees(100_000n, 30_000_000n, false), false);
});
