/**
 * When an answer about the newest block is stale. Independent upstreams can stop agreeing on new blocks (one failure
 * domain left, the others down or hung); the agreed head then stays where it was, and an answer at it may still be
 * proven — about a block that is no longer the newest. So the age of the head's block, from the timestamp in its
 * verified header to the injected clock, is compared with a bound per chain. No I/O.
 */
import { chainPreset } from "../chain-presets.ts";
import type { MethodSpec } from "./methods.ts";

/** A block older than this many of its chain's block times is stale. */
export const STALE_AFTER_BLOCK_TIMES = 5;
/**
 * The shortest staleness bound, ms, whatever the block time: missed slots, the head poll interval and clock skew
 * between the gateway and block producers must not make a live head look stale.
 */
export const STALE_AFTER_MIN_MS = 30_000;

/**
 * A chain's staleness bound, ms: the configured one, else `STALE_AFTER_BLOCK_TIMES` block times of its preset (at
 * least `STALE_AFTER_MIN_MS`). Undefined for a chain that makes blocks only on demand and has no configured bound.
 */
export function staleAfterMs(chainId: number, configured?: number): number | undefined {
  if (configured !== undefined) return configured;
  const { blockTimeMs } = chainPreset(chainId);
  return blockTimeMs === undefined ? undefined : staleAfterBlockTime(blockTimeMs);
}

/** The staleness bound of a chain making a block every `blockTimeMs`, ms. */
export function staleAfterBlockTime(blockTimeMs: number): number {
  return Math.max(STALE_AFTER_MIN_MS, STALE_AFTER_BLOCK_TIMES * blockTimeMs);
}

/** Whole seconds from a block's timestamp (seconds, from its header) to `nowMs`; 0 for a block stamped ahead. */
export function blockAgeSeconds(timestampSeconds: number, nowMs: number): number {
  return Math.max(0, Math.floor(nowMs / 1000 - timestampSeconds));
}

/** Whether a block with this timestamp is older than `boundMs` at `nowMs`. */
export function isStale(timestampSeconds: number, nowMs: number, boundMs: number | undefined): boolean {
  return boundMs !== undefined && nowMs - timestampSeconds * 1000 > boundMs;
}

/**
 * Whether a call asks about the newest block, so that its answer is stale when the head is: `eth_blockNumber`, a
 * block parameter of `latest` (or omitted where it means `latest`), a log range ending at `latest`. A call naming a
 * block (by number or hash) is answered about that block, however old: it is never stale.
 */
export function asksForHead(method: string, spec: MethodSpec, params: unknown): boolean {
  if (method === "eth_blockNumber") return true;
  if (spec.kind !== "read" || !Array.isArray(params)) return false;
  if (spec.logFilter) {
    const filter = params[0] as { blockHash?: unknown; toBlock?: unknown } | null | undefined;
    if (typeof filter !== "object" || filter === null || filter.blockHash !== undefined) return false;
    return filter.toBlock === undefined || filter.toBlock === "latest";
  }
  if (spec.blockParam === undefined) return false;
  const block = params[spec.blockParam];
  return block === "latest" || (block === undefined && spec.blockOptional === true);
}
