/**
 * Fee suggestions from proven blocks (core/fees/tip-oracle.ts): the bodies of the last `TIP_ORACLE_BLOCKS` anchored
 * blocks, each verified against its transactions root, give the tips actually paid; the suggestion is theirs, made once
 * per agreed head and shared. A block whose body cannot be proven (a transaction type this stack cannot encode) leaves
 * the suggestion to the agreement of independent domains, as before.
 */

import type { AgreedHead } from "../../core/domains/head.ts";
import { blockTipSamples, suggestTip, TIP_ORACLE_BLOCKS } from "../../core/fees/tip-oracle.ts";
import type { AnchoredBlock } from "../verification/state-reads.ts";
import type { Fetched, VerifiedBody } from "../verification/verified-blocks.ts";

/** The suggestion when the recent blocks paid no tip at all (an idle chain): 1 gwei, as node clients default to. */
export const IDLE_CHAIN_TIP_WEI = 1_000_000_000n;

export interface FeeOracleIo {
  anchoredBody(number: number, head: number): Promise<Fetched<{ anchored: AnchoredBlock; verified: VerifiedBody }>>;
}

export interface TipSuggestion {
  tip: bigint;
  /** The head's base fee, for a legacy gas price (tip + base fee). */
  baseFee: bigint;
  head: AnchoredBlock;
}

export function createFeeOracle(io: FeeOracleIo) {
  let last: { hash: string; suggestion: Promise<TipSuggestion | "unprovable" | undefined> } | undefined;

  /** The suggestion; `unprovable` when a recent body cannot be proven; undefined when one could not be fetched. */
  async function compute(head: AgreedHead): Promise<TipSuggestion | "unprovable" | undefined> {
    const first = Math.max(0, head.number - TIP_ORACLE_BLOCKS + 1);
    const numbers = Array.from({ length: head.number - first + 1 }, (_, i) => head.number - i);
    const bodies = await Promise.all(numbers.map((n) => io.anchoredBody(n, head.number)));
    const samples: bigint[][] = [];
    for (const body of bodies) {
      if (!body.ok) return undefined;
      if (!body.value.verified.bodyProven) return "unprovable";
      const block = body.value.verified.block;
      const baseFee = typeof block.baseFeePerGas === "string" ? BigInt(block.baseFeePerGas) : undefined;
      samples.push(blockTipSamples(block.transactions as Record<string, unknown>[], baseFee));
    }
    const latest = (bodies[0] as Extract<(typeof bodies)[number], { ok: true }>).value;
    const base = latest.verified.block.baseFeePerGas;
    return {
      tip: suggestTip(samples, IDLE_CHAIN_TIP_WEI),
      baseFee: typeof base === "string" ? BigInt(base) : 0n,
      head: latest.anchored,
    };
  }

  return {
    /** The tip suggestion at the agreed head; undefined when the recent blocks could not all be proven. */
    async suggest(head: AgreedHead): Promise<TipSuggestion | undefined> {
      if (last?.hash !== head.hash) {
        const suggestion = compute(head).catch(() => undefined);
        last = { hash: head.hash, suggestion };
        // A body that could not be fetched is not kept (the next call tries again); one that cannot be proven is a
        // fact about this head, kept with it rather than fetched and checked again by every call.
        void suggestion.then((s) => {
          if (s === undefined && last?.suggestion === suggestion) last = undefined;
        });
      }
      const suggested = await last.suggestion;
      return suggested === "unprovable" ? undefined : suggested;
    },
  };
}
