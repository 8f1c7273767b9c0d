import assert from "node:assert/strict";
import { test } from "node:test";
import {
  blockRewards,
  FEE_HISTORY_MAX_BLOCKS,
  feeHistoryRange,
  feeHistoryResult,
  gasUsedPerTransaction,
  parseFeeHistoryRequest,
} from "./fee-history.ts";

const hex = (n: bigint) => `0x${n.toString(16)}`;
const tx = (tip: bigint) => ({ maxFeePerGas: hex(1_000n + tip), maxPriorityFeePerGas: hex(tip) });

test("requests: a hex or decimal count of at least 1 and non-decreasing percentiles of 0–100; others are the nodes'", () => {
  assert.deepEqual(parseFeeHistoryRequest(["0x5", "0x10", [10, 50, 90]]), { blockCount: 5, percentiles: [10, 50, 90] });
  assert.deepEqual(parseFeeHistoryRequest([4, "0x10"]), { blockCount: 4, percentiles: [] });
  assert.deepEqual(parseFeeHistoryRequest(["12", "0x10", null]), { blockCount: 12, percentiles: [] });
  for (const bad of [
    ["0x0", "0x1", []],
    [-1, "0x1"],
    ["x", "0x1"],
    ["0x2", "0x1", [50, 10]],
    ["0x2", "0x1", [101]],
  ])
    assert.equal(parseFeeHistoryRequest(bad), undefined, JSON.stringify(bad));
  assert.deepEqual(feeHistoryRange(5, 100), { oldest: 96, newest: 100 });
  assert.deepEqual(feeHistoryRange(10, 3), { oldest: 0, newest: 3 }, "not before genesis");
  assert.equal(feeHistoryRange(5_000, 10_000).oldest, 10_000 - FEE_HISTORY_MAX_BLOCKS + 1);
});

test("rewards: tips sorted ascending, weighted by gas used, read at percentiles of the block's gas (go-ethereum's rule)", () => {
  const txs = [tx(5n), tx(1n), tx(3n), tx(40n)];
  const even = [21_000n, 21_000n, 21_000n, 21_000n];
  assert.deepEqual(blockRewards(txs, even, 84_000n, 1_000n, [0, 10, 25, 50, 75, 100]), [1n, 1n, 1n, 3n, 5n, 40n]);
  // The 1-wei tip used most of the gas: it is every percentile up to its share.
  const heavy = [21_000n, 100_000n, 21_000n, 21_000n];
  assert.deepEqual(blockRewards(txs, heavy, 163_000n, 1_000n, [10, 60, 70, 85, 90]), [1n, 1n, 3n, 5n, 40n]);
  assert.deepEqual(blockRewards([], [], 0n, 1_000n, [10, 90]), [0n, 0n], "an empty block: zeros");
  assert.equal(blockRewards([{ type: "0x7e" }], [50_000n], 50_000n, 1_000n, [50]), undefined, "a deposit: not known");
  assert.deepEqual(blockRewards([{ gasPrice: hex(1_200n) }], [21_000n], 21_000n, 1_000n, [50]), [200n], "legacy");
});

test("gas per transaction from cumulative gas; the answer in the nodes' shape", () => {
  const receipts = [{ cumulativeGasUsed: "0x5208" }, { cumulativeGasUsed: "0xa410" }, { cumulativeGasUsed: "0xc350" }];
  assert.deepEqual(gasUsedPerTransaction(receipts), [21_000n, 21_000n, 8_000n]);
  assert.equal(gasUsedPerTransaction([{ cumulativeGasUsed: "0x10" }, { cumulativeGasUsed: "0x1" }]), undefined);
  const blocks = [
    { baseFee: 10n, gasUsedRatio: 0.5, blobBaseFee: 1n, blobGasUsedRatio: 0, rewards: [2n] },
    { baseFee: 11n, gasUsedRatio: 0, blobBaseFee: 1n, blobGasUsedRatio: 0.25, rewards: [0n] },
  ];
  assert.deepEqual(feeHistoryResult(7, blocks, { baseFee: 12n, blobBaseFee: 1n }, true), {
    baseFeePerGas: ["0xa", "0xb", "0xc"],
    gasUsedRatio: [0.5, 0],
    baseFeePerBlobGas: ["0x1", "0x1", "0x1"],
    blobGasUsedRatio: [0, 0.25],
    oldestBlock: "0x7",
    reward: [["0x2"], ["0x0"]],
  });
  const london = feeHistoryResult(7, [{ baseFee: 10n, gasUsedRatio: 1 }], { baseFee: 11n }, false);
  assert.deepEqual(london, { baseFeePerGas: ["0xa", "0xb"], gasUsedRatio: [1], oldestBlock: "0x7", reward: [] });
});
