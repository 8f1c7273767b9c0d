/**
 * `eth_feeHistory` computed from headers and receipts, the way go-ethereum's `eth/gasprice/feehistory.go` does: per
 * block its base fee, gas used ratio, blob base fee and blob gas used ratio, plus the fees of the block after the
 * newest; and, when percentiles are asked, the effective tips of the block's transactions sorted ascending, each
 * weighted by the gas it used, read at those percentiles of the block's gas used.
 */
import { effectiveTip } from "./tip-oracle.ts";

/** Most blocks one call covers (go-ethereum's `maxFeeHistory`): a larger count is cut to this, as nodes do. */
export const FEE_HISTORY_MAX_BLOCKS = 1_024;
/** Most reward percentiles computed here; a longer list is left to the nodes. */
export const FEE_HISTORY_MAX_PERCENTILES = 128;

type Json = Record<string, unknown>;

export interface FeeHistoryRequest {
  blockCount: number;
  percentiles: number[];
}

/**
 * The block count (a hex or decimal quantity, as go-ethereum's `HexOrDecimal64` takes it, at least 1) and the reward
 * percentiles (each 0–100, none smaller than the one before). Undefined when the request is not one this computes:
 * the nodes answer it as they do (an error, or their own reading of it).
 */
export function parseFeeHistoryRequest(params: readonly unknown[]): FeeHistoryRequest | undefined {
  const [count, , percentiles] = params;
  const blockCount =
    typeof count === "number"
      ? count
      : typeof count === "string" && /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,9})$/.test(count)
        ? Number(count)
        : Number.NaN;
  if (!Number.isSafeInteger(blockCount) || blockCount < 1 || params.length > 3) return undefined;
  if (percentiles === undefined || percentiles === null) return { blockCount, percentiles: [] };
  if (!Array.isArray(percentiles) || percentiles.length > FEE_HISTORY_MAX_PERCENTILES) return undefined;
  for (const [i, p] of percentiles.entries()) {
    if (typeof p !== "number" || !(p >= 0 && p <= 100)) return undefined;
    if (i > 0 && p < (percentiles[i - 1] as number)) return undefined;
  }
  return { blockCount, percentiles: percentiles as number[] };
}

/** The first and last block of the range a call covers, newest at `newest` (cut to the genesis and the cap). */
export function feeHistoryRange(blockCount: number, newest: number): { oldest: number; newest: number } {
  const count = Math.min(blockCount, FEE_HISTORY_MAX_BLOCKS, newest + 1);
  return { oldest: newest - count + 1, newest };
}

/**
 * The gas each transaction used: the differences of the receipts' cumulative gas (which the receipts root binds; a
 * receipt's own `gasUsed` is not in its encoding).
 */
export function gasUsedPerTransaction(receipts: readonly Json[]): bigint[] | undefined {
  let before = 0n;
  const used: bigint[] = [];
  for (const r of receipts) {
    const cumulative = typeof r.cumulativeGasUsed === "string" ? BigInt(r.cumulativeGasUsed) : undefined;
    if (cumulative === undefined || cumulative < before) return undefined;
    used.push(cumulative - before);
    before = cumulative;
  }
  return used;
}

/**
 * One block's rewards at `percentiles` (go-ethereum's `processBlock`): all zero for an empty block; undefined when a
 * transaction pays no tip a rule here knows (a deposit, a type of another stack) — the nodes' reading is then used.
 */
export function blockRewards(
  txs: readonly Json[],
  gasUsed: readonly bigint[],
  blockGasUsed: bigint,
  baseFee: bigint | undefined,
  percentiles: readonly number[],
): bigint[] | undefined {
  if (txs.length === 0) return percentiles.map(() => 0n);
  if (gasUsed.length !== txs.length) return undefined;
  const sorted: { gas: bigint; reward: bigint }[] = [];
  for (const [i, tx] of txs.entries()) {
    const reward = effectiveTip(tx, baseFee);
    if (reward === undefined) return undefined;
    sorted.push({ gas: gasUsed[i]!, reward });
  }
  // A stable sort by reward, as Go's sort.Sort need not be: equal rewards give the same answer either way.
  sorted.sort((a, b) => (a.reward < b.reward ? -1 : a.reward > b.reward ? 1 : 0));
  let index = 0;
  let sum = sorted[0]!.gas;
  return percentiles.map((p) => {
    // go-ethereum: uint64(float64(block.GasUsed()) * p / 100)
    const threshold = BigInt(Math.floor((Number(blockGasUsed) * p) / 100));
    while (sum < threshold && index < sorted.length - 1) {
      index++;
      sum += sorted[index]!.gas;
    }
    return sorted[index]!.reward;
  });
}

/** One block of the range, as its verified header (and, with percentiles, its transactions) give it. */
export interface FeeHistoryBlock {
  baseFee: bigint;
  gasUsedRatio: number;
  /** Absent when the header carries no excess blob gas (before Cancun). */
  blobBaseFee?: bigint;
  blobGasUsedRatio?: number;
  rewards?: bigint[];
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

/**
 * The answer, in the order and shape nodes give it: blob fields when the newest block has them (a block without gets
 * zeros), `reward` empty when no percentiles were asked.
 */
export function feeHistoryResult(
  oldest: number,
  blocks: readonly FeeHistoryBlock[],
  next: { baseFee: bigint; blobBaseFee?: bigint },
  withRewards: boolean,
): Record<string, unknown> {
  const withBlobs = blocks.at(-1)?.blobBaseFee !== undefined;
  return {
    baseFeePerGas: [...blocks.map((b) => hex(b.baseFee)), hex(next.baseFee)],
    gasUsedRatio: blocks.map((b) => b.gasUsedRatio),
    ...(withBlobs
      ? {
          baseFeePerBlobGas: [...blocks.map((b) => hex(b.blobBaseFee ?? 0n)), hex(next.blobBaseFee ?? 0n)],
          blobGasUsedRatio: blocks.map((b) => b.blobGasUsedRatio ?? 0),
        }
      : {}),
    oldestBlock: hex(BigInt(oldest)),
    reward: withRewards ? blocks.map((b) => (b.rewards ?? []).map(hex)) : [],
  };
}
