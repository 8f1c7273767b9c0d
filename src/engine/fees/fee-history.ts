/**
 * `eth_feeHistory` and `eth_blobBaseFee` from anchored headers (their hashes recomputed from their fields, so every
 * field read here is proven) and, for reward percentiles, bodies and receipts verified against their roots
 * (core/fees/). The fees of the block after the newest come from its anchored header when it exists, else from the
 * stack's rule — and only when that rule gives every transition the fetched headers show: a chain whose fees follow
 * another rule (an L2's own pricing, a fixed base fee) is answered by the nodes' agreement instead. Undefined, never a
 * guess, whenever something cannot be proven: the caller falls back to independent domains (`quorum`).
 */
import type { ChainStack, ForkSchedule } from "../../core/chain-presets.ts";
import type { AgreedHead } from "../../core/domains/head.ts";
import { baseFeeRuleOf, nextBaseFee } from "../../core/fees/base-fee.ts";
import { blobBaseFee, blobScheduleAt, maxBlobGas, nextExcessBlobGas } from "../../core/fees/blob-fee.ts";
import {
  blockRewards,
  type FeeHistoryBlock,
  feeHistoryRange,
  feeHistoryResult,
  gasUsedPerTransaction,
  parseFeeHistoryRequest,
} from "../../core/fees/fee-history.ts";
import type { CallAnswer } from "../answers/answer.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import type { Fetched, VerifiedBody, VerifiedReceipts } from "../verification/verified-blocks.ts";

/** Most blocks whose headers one fee history proves (the head polls' memory); a wider range is agreed by nodes. */
export const FEE_HISTORY_MAX_PROVEN_BLOCKS = 256;
/** Most blocks whose bodies and receipts one fee history with percentiles proves (the verified-body cache's size). */
export const FEE_HISTORY_MAX_REWARD_BLOCKS = 64;
/** Headers, bodies or receipt lists fetched at once for one fee history. */
export const FEE_HISTORY_FETCH_CONCURRENCY = 8;

export interface FeeHistoryIo {
  chainId: number;
  stack: ChainStack;
  forks?: ForkSchedule;
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  anchoredBody(number: number, head: number): Promise<Fetched<{ anchored: AnchoredBlock; verified: VerifiedBody }>>;
  receiptsOf(verified: VerifiedBody): Promise<Fetched<VerifiedReceipts>>;
}

/** A header's fee fields (from a verified header: well-formed quantities). */
interface HeaderFees {
  number: number;
  timestamp: number;
  baseFee?: bigint;
  gasUsed: bigint;
  gasLimit: bigint;
  excessBlobGas?: bigint;
  blobGasUsed: bigint;
  extraData: string;
}

function feesOf(anchored: AnchoredBlock): HeaderFees | undefined {
  const env = anchored.env;
  if (!env || env.gasUsed === undefined) return undefined;
  const big = (v: string | undefined) => (v === undefined ? undefined : BigInt(v));
  return {
    number: anchored.number,
    timestamp: anchored.timestamp,
    ...(env.baseFeePerGas !== undefined ? { baseFee: BigInt(env.baseFeePerGas) } : {}),
    gasUsed: BigInt(env.gasUsed),
    gasLimit: BigInt(env.gasLimit),
    ...(env.excessBlobGas !== undefined ? { excessBlobGas: BigInt(env.excessBlobGas) } : {}),
    blobGasUsed: big(env.blobGasUsed) ?? 0n,
    extraData: env.extraData ?? "0x",
  };
}

async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FEE_HISTORY_FETCH_CONCURRENCY, items.length) }, worker));
  return out;
}

export function createFeeHistory(io: FeeHistoryIo) {
  const scheduleAt = (timestamp: number) => blobScheduleAt(timestamp, io.chainId, io.forks);

  /** The block's blob base fee; `null` when it has blob fields under a schedule not known here. */
  const blobFeeOf = (h: HeaderFees): bigint | undefined | null => {
    if (h.excessBlobGas === undefined) return undefined;
    const schedule = scheduleAt(h.timestamp);
    return schedule ? blobBaseFee(h.excessBlobGas, schedule) : null;
  };

  /**
   * The excess blob gas of the block after `h`, under the schedule at `h`'s time (as go-ethereum's and reth's fee
   * history take it); `null` when `h` has blob fields under a schedule not known here.
   */
  const nextExcessOf = (h: HeaderFees): bigint | undefined | null => {
    if (h.excessBlobGas === undefined) return undefined;
    const schedule = scheduleAt(h.timestamp);
    if (!schedule) return null;
    return nextExcessBlobGas(
      { excessBlobGas: h.excessBlobGas, blobGasUsed: h.blobGasUsed, baseFee: h.baseFee ?? 0n },
      schedule,
    );
  };

  /** The fees of the block after `h` by the rules; undefined when a rule is not known here. */
  function nextFees(h: HeaderFees): { baseFee: bigint; blobBaseFee?: bigint } | undefined {
    let baseFee = 0n;
    if (h.baseFee !== undefined) {
      const rule = baseFeeRuleOf(io.stack, h.extraData);
      if (!rule) return undefined;
      baseFee = nextBaseFee({ baseFee: h.baseFee, gasUsed: h.gasUsed, gasLimit: h.gasLimit }, rule);
    } else if (io.forks?.london === h.number + 1) return undefined; // the first base fee: InitialBaseFee rules
    const excess = nextExcessOf(h);
    if (excess === null) return undefined;
    if (excess === undefined) return { baseFee };
    return { baseFee, blobBaseFee: blobBaseFee(excess, scheduleAt(h.timestamp)!) };
  }

  /** The rules give `child`'s fee fields from `parent`'s: they are this chain's (as far as this pair shows). */
  function followsRules(parent: HeaderFees, child: HeaderFees): boolean {
    const next = nextFees(parent);
    if (!next || next.baseFee !== (child.baseFee ?? 0n)) return false;
    return child.excessBlobGas === undefined || nextExcessOf(parent) === child.excessBlobGas;
  }

  /** Anchored headers at `numbers` with their fee fields; undefined when one cannot be anchored. */
  async function anchoredFees(numbers: number[]) {
    const anchored = await mapLimit(numbers, io.anchor);
    if (anchored.some((a) => a === undefined)) return undefined;
    const fees = (anchored as AnchoredBlock[]).map(feesOf);
    if (fees.some((f) => f === undefined)) return undefined;
    return { anchored: anchored as AnchoredBlock[], fees: fees as HeaderFees[] };
  }

  /** A block's rewards at `percentiles`, from its verified body and receipts; undefined when not provable. */
  async function rewardsOf(h: HeaderFees, head: number, percentiles: number[]): Promise<bigint[] | undefined> {
    const body = await io.anchoredBody(h.number, head);
    if (!body.ok || !body.value.verified.bodyProven) return undefined;
    const txs = body.value.verified.block.transactions as Record<string, unknown>[];
    if (txs.length === 0) return percentiles.map(() => 0n);
    const receipts = await io.receiptsOf(body.value.verified);
    if (!receipts.ok) return undefined;
    const gas = gasUsedPerTransaction(receipts.value.receipts);
    return gas && blockRewards(txs, gas, h.gasUsed, h.baseFee, percentiles);
  }

  /** Evidence of an answer built from these anchored blocks, at `at`. */
  const answer = (result: unknown, at: AnchoredBlock, used: AnchoredBlock[]): CallAnswer => ({
    ok: true,
    result,
    evidence: {
      blockNumber: at.number,
      verified: used.some((a) => a.headerDigest !== undefined) ? "quorum" : "proof",
      blockHash: at.hash,
      domains: at.domains,
    },
  });

  return {
    /** `eth_feeHistory` with its newest block pinned at `newest`; undefined when it cannot be proven here. */
    async feeHistory(params: unknown[], newest: number | undefined, head: AgreedHead): Promise<CallAnswer | undefined> {
      const request = parseFeeHistoryRequest(params);
      if (!request || newest === undefined || newest > head.number) return undefined;
      const { oldest } = feeHistoryRange(request.blockCount, newest);
      const count = newest - oldest + 1;
      const { percentiles } = request;
      if (count > FEE_HISTORY_MAX_PROVEN_BLOCKS) return undefined;
      if (percentiles.length > 0 && count > FEE_HISTORY_MAX_REWARD_BLOCKS) return undefined;
      // The newest block's successor proves the next fees; at the head, the parent of the oldest checks the rules.
      const first = newest === head.number ? Math.max(0, oldest - 1) : oldest;
      const last = newest === head.number ? newest : newest + 1;
      const got = await anchoredFees(Array.from({ length: last - first + 1 }, (_, i) => first + i));
      if (!got) return undefined;
      const byNumber = (n: number) => got.fees[n - first]!;
      let next: { baseFee: bigint; blobBaseFee?: bigint } | undefined;
      if (newest < head.number) {
        const child = byNumber(newest + 1);
        const blob = blobFeeOf(child);
        if (blob === null) return undefined;
        next = { baseFee: child.baseFee ?? 0n, ...(blob !== undefined ? { blobBaseFee: blob } : {}) };
      } else {
        // The block after genesis is left out: dev nodes give it the genesis base fee, whatever genesis used.
        for (let n = Math.max(first, 1); n < newest; n++)
          if (!followsRules(byNumber(n), byNumber(n + 1))) return undefined;
        next = nextFees(byNumber(newest));
      }
      if (!next) return undefined;
      const blocks: FeeHistoryBlock[] = [];
      for (let n = oldest; n <= newest; n++) {
        const h = byNumber(n);
        const blob = blobFeeOf(h);
        if (blob === null) return undefined;
        const schedule = blob === undefined ? undefined : scheduleAt(h.timestamp);
        blocks.push({
          baseFee: h.baseFee ?? 0n,
          gasUsedRatio: Number(h.gasUsed) / Number(h.gasLimit),
          ...(blob !== undefined && schedule
            ? { blobBaseFee: blob, blobGasUsedRatio: Number(h.blobGasUsed) / Number(maxBlobGas(schedule)) }
            : {}),
        });
      }
      if (percentiles.length > 0) {
        const numbers = blocks.map((_, i) => oldest + i);
        const rewards = await mapLimit(numbers, (n) => rewardsOf(byNumber(n), head.number, percentiles));
        if (rewards.some((r) => r === undefined)) return undefined;
        for (const [i, r] of rewards.entries()) blocks[i]!.rewards = r!;
      }
      const result = feeHistoryResult(oldest, blocks, next, percentiles.length > 0);
      return answer(result, got.anchored[newest - first]!, got.anchored);
    },

    /**
     * `eth_blobBaseFee`: the blob base fee of the block after the head (as anvil and reth answer; go-ethereum answers
     * the head's own), from the head's anchored header — once the head's excess blob gas follows from its parent's by
     * the schedule. Undefined when it cannot be proven here.
     */
    async blobBaseFee(head: AgreedHead): Promise<CallAnswer | undefined> {
      const numbers = head.number > 0 ? [head.number - 1, head.number] : [head.number];
      const got = await anchoredFees(numbers);
      if (!got) return undefined;
      const h = got.fees.at(-1)!;
      const parent = got.fees.length > 1 ? got.fees[0]! : undefined;
      if (parent?.excessBlobGas !== undefined && nextExcessOf(parent) !== h.excessBlobGas) return undefined;
      const excess = nextExcessOf(h);
      if (excess === undefined || excess === null) return undefined;
      const fee = blobBaseFee(excess, scheduleAt(h.timestamp)!);
      return answer(`0x${fee.toString(16)}`, got.anchored.at(-1)!, got.anchored);
    },
  };
}
