import assert from "node:assert/strict";
import { test } from "node:test";
import { Common, Hardfork, Holesky, Hoodi, Mainnet, Sepolia } from "@ethereumjs/common";
import { chainPreset } from "../chain-presets.ts";
import { BPO_TIMES, blobBaseFee, blobScheduleAt, fakeExponential, maxBlobGas, nextExcessBlobGas } from "./blob-fee.ts";

test("the BPO forks' times and blob parameters are @ethereumjs/common's, on every chain that has them", () => {
  for (const chain of [Mainnet, Sepolia, Holesky, Hoodi]) {
    const id = Number(chain.chainId);
    const common = new Common({ chain });
    const forks = chainPreset(id).forks!;
    const bpo = BPO_TIMES[id]!;
    assert.equal(common.hardforkTimestamp(Hardfork.Osaka), BigInt(forks.osaka!), `${chain.name} osaka`);
    for (const [fork, time] of [
      [Hardfork.Bpo1, bpo.bpo1],
      [Hardfork.Bpo2, bpo.bpo2],
    ] as const) {
      assert.equal(common.hardforkTimestamp(fork), BigInt(time), `${chain.name} ${fork}`);
      common.setHardfork(fork);
      const ours = blobScheduleAt(time, id, forks)!;
      assert.equal(BigInt(common.param("target")), ours.target, `${chain.name} ${fork} target`);
      assert.equal(BigInt(common.param("max")), ours.max, `${chain.name} ${fork} max`);
      assert.equal(BigInt(common.param("blobGasPriceUpdateFraction")), ours.updateFraction, `${chain.name} ${fork}`);
      assert.equal(blobScheduleAt(time - 1, id, forks)!.target < ours.target, true, "the fork raises the target");
    }
  }
  const forks = chainPreset(1).forks;
  assert.deepEqual(
    [forks!.cancun!, forks!.prague!, forks!.osaka!].map((t) => {
      const s = blobScheduleAt(t, 1, forks)!;
      return [s.target, s.max, s.updateFraction, s.reservePrice];
    }),
    [
      [3n, 6n, 3_338_477n, false], // EIP-4844
      [6n, 9n, 5_007_716n, false], // EIP-7691
      [6n, 9n, 5_007_716n, true], // Osaka: Prague's blobs, EIP-7918's reserve price
    ],
  );
  assert.equal(maxBlobGas(blobScheduleAt(forks!.prague!, 1, forks)!), 9n * 131_072n);
  assert.equal(blobScheduleAt(1_700_000_000, 1, forks), undefined, "before Cancun: no blobs");
  assert.equal(blobScheduleAt(1_800_000_000, 42, { cancun: 0, prague: 0, osaka: 0 }), undefined, "BPO times unknown");
  assert.equal(blobScheduleAt(0, 31337, undefined), undefined, "no schedule known");
});

test("the blob base fee is EIP-4844's fake exponential of the excess (1 wei at none)", () => {
  const cancun = blobScheduleAt(1_710_338_135, 1, chainPreset(1).forks)!;
  assert.equal(blobBaseFee(0n, cancun), 1n);
  assert.equal(fakeExponential(1n, 3_338_477n, 3_338_477n), 2n, "e, in integers");
  assert.equal(fakeExponential(1n, 10n * 3_338_477n, 3_338_477n), 22_026n, "e^10");
  // The fee doubles every update fraction × ln 2 of excess blob gas.
  assert.equal(blobBaseFee(10n * 3_338_477n, cancun), 22_026n);
});

test("the next excess: the excess plus what was used above the target; with EIP-7918 a cheap blob carries its share over", () => {
  const cancun = blobScheduleAt(1_710_338_135, 1, chainPreset(1).forks)!;
  const prague = blobScheduleAt(1_746_612_311, 1, chainPreset(1).forks)!;
  const osaka = blobScheduleAt(1_764_798_551, 1, chainPreset(1).forks)!;
  const six = 6n * 131_072n;
  assert.equal(nextExcessBlobGas({ excessBlobGas: 0n, blobGasUsed: six, baseFee: 1n }, cancun), 3n * 131_072n);
  assert.equal(nextExcessBlobGas({ excessBlobGas: 0n, blobGasUsed: six, baseFee: 1n }, prague), 0n);
  assert.equal(nextExcessBlobGas({ excessBlobGas: 0n, blobGasUsed: 0n, baseFee: 1n }, prague), 0n, "never below 0");
  const nine = 9n * 131_072n;
  // A 10 gwei base fee against a 1 wei blob fee: 2^13 × 10 gwei > 2^17 × 1, so 3/9 of the used blob gas is added.
  assert.equal(
    nextExcessBlobGas({ excessBlobGas: six, blobGasUsed: nine, baseFee: 10n ** 10n }, osaka),
    six + (nine * 3n) / 9n,
  );
  assert.equal(nextExcessBlobGas({ excessBlobGas: six, blobGasUsed: nine, baseFee: 1n }, osaka), six + nine - six);
});
