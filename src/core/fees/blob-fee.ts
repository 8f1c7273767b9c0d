/**
 * The blob base fee (EIP-4844) of a header from its excess blob gas, and the excess blob gas of the block after it,
 * under the blob schedule in force: Cancun's (target 3, max 6 blobs), Prague's (EIP-7691: 6, 9), and from Osaka on the
 * blob-parameter-only forks' (EIP-7892) where the chain has had them; Osaka also bounds the blob base fee below by the
 * execution cost of a blob (EIP-7918), which changes how the excess is carried over. A schedule Multihome does not know
 * (a chain with no fork schedule, or past Osaka with no known BPO times) is `undefined`.
 */
import type { ForkSchedule } from "../chain-presets.ts";

/** Blob gas per blob (EIP-4844 `GAS_PER_BLOB`, 2^17). */
const GAS_PER_BLOB = 131_072n;
/** EIP-7918 `BLOB_BASE_COST` (2^13): the execution gas a blob's base fee is compared with. */
const BLOB_BASE_COST = 8_192n;

export interface BlobSchedule {
  /** Blobs per block the fee aims at. */
  target: bigint;
  /** Most blobs per block. */
  max: bigint;
  /** `BLOB_BASE_FEE_UPDATE_FRACTION`. */
  updateFraction: bigint;
  /** EIP-7918 (Osaka on): the reserve price rule of the excess update. */
  reservePrice: boolean;
}

const CANCUN: BlobSchedule = { target: 3n, max: 6n, updateFraction: 3_338_477n, reservePrice: false };
const PRAGUE: BlobSchedule = { target: 6n, max: 9n, updateFraction: 5_007_716n, reservePrice: false };
const OSAKA: BlobSchedule = { ...PRAGUE, reservePrice: true };
const BPO1: BlobSchedule = { target: 10n, max: 15n, updateFraction: 8_346_193n, reservePrice: true };
const BPO2: BlobSchedule = { target: 14n, max: 21n, updateFraction: 11_684_671n, reservePrice: true };

/**
 * When the blob-parameter-only forks took effect (timestamps), by chain id, as go-ethereum and @ethereumjs/common
 * state them; a chain past Osaka that is not listed has an unknown blob schedule.
 */
export const BPO_TIMES: Readonly<Record<number, { bpo1: number; bpo2: number }>> = {
  1: { bpo1: 1_765_290_071, bpo2: 1_767_747_671 },
  11155111: { bpo1: 1_761_017_184, bpo2: 1_761_607_008 },
  17000: { bpo1: 1_759_800_000, bpo2: 1_760_389_824 },
  560048: { bpo1: 1_762_365_720, bpo2: 1_762_955_544 },
};

/** The blob schedule of a block at `timestamp` (seconds); undefined when not known or before Cancun. */
export function blobScheduleAt(timestamp: number, chainId: number, forks?: ForkSchedule): BlobSchedule | undefined {
  if (!forks) return undefined;
  const at = (time: number | undefined) => time !== undefined && time <= timestamp;
  if (at(forks.osaka)) {
    const bpo = BPO_TIMES[chainId];
    if (!bpo) return undefined;
    return timestamp >= bpo.bpo2 ? BPO2 : timestamp >= bpo.bpo1 ? BPO1 : OSAKA;
  }
  if (at(forks.prague)) return PRAGUE;
  if (at(forks.cancun)) return CANCUN;
  return undefined;
}

/** EIP-4844 `fake_exponential`: factor × e^(numerator / denominator), in integers. */
export function fakeExponential(factor: bigint, numerator: bigint, denominator: bigint): bigint {
  let i = 1n;
  let output = 0n;
  let accumulator = factor * denominator;
  while (accumulator > 0n) {
    output += accumulator;
    accumulator = (accumulator * numerator) / (denominator * i);
    i += 1n;
  }
  return output / denominator;
}

/** The blob base fee of a header with this excess blob gas (`MIN_BASE_FEE_PER_BLOB_GAS` is 1 wei). */
export function blobBaseFee(excessBlobGas: bigint, schedule: BlobSchedule): bigint {
  return fakeExponential(1n, excessBlobGas, schedule.updateFraction);
}

/** Most blob gas a block may use under the schedule. */
export function maxBlobGas(schedule: BlobSchedule): bigint {
  return schedule.max * GAS_PER_BLOB;
}

export interface ParentBlobGas {
  excessBlobGas: bigint;
  blobGasUsed: bigint;
  baseFee: bigint;
}

/** The excess blob gas of the block after `parent` (EIP-4844's `calc_excess_blob_gas`, with EIP-7918 from Osaka). */
export function nextExcessBlobGas(parent: ParentBlobGas, schedule: BlobSchedule): bigint {
  const target = schedule.target * GAS_PER_BLOB;
  if (parent.excessBlobGas + parent.blobGasUsed < target) return 0n;
  if (
    schedule.reservePrice &&
    BLOB_BASE_COST * parent.baseFee > GAS_PER_BLOB * blobBaseFee(parent.excessBlobGas, schedule)
  )
    return parent.excessBlobGas + (parent.blobGasUsed * (schedule.max - schedule.target)) / schedule.max;
  return parent.excessBlobGas + parent.blobGasUsed - target;
}
