/**
 * Which answers may be cached, under what key, for how long, and which blocks they depend on. Verified data at or
 * below the finalized block is kept until evicted; unfinalized data is keyed by the hash of the block it reflects and
 * kept briefly; answers tied to a block hash carry that hash as a tag, so a reorg that orphans the block evicts them.
 * One upstream's word (`single`) is kept briefly whatever its block: a lie about a final block must not outlive the
 * short window every client shares. Never kept: errors, `null` (something not known yet), answers that are not what
 * the method's verification policy asks for. Verified answers about final data are `shared`: they can never change,
 * so other replicas (and this one after a restart) may serve them from the store. No I/O.
 */

import { HASH_HEX } from "../hex.ts";
import type { MethodSpec, PinnedCall } from "./methods.ts";
import { parseBlockNumber } from "./methods.ts";

export interface CacheView {
  head: number;
  /** The highest block treated as final (the agreed head minus the chain's finality depth). */
  finalized: number;
  /** The hash independent upstreams agree on at a height, if any. */
  hashAt(number: number): string | undefined;
  unfinalizedTtlMs: number;
}

export interface CacheSlot {
  key: string;
  /** Block hashes the answer depends on: a reorg orphaning one evicts it. */
  tags: string[];
  /** undefined: kept until evicted (finalized, or content fixed by a hash). */
  ttlMs: number | undefined;
  /**
   * From `cacheSlot`: the answer may be final, so look in the store too. From `keepAnswer`: it is final, so put it
   * in the store.
   */
  shared: boolean;
}

/** Whether `value` holds an object other than an array, at any depth: only those have keys to sort. */
function holdsObject(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (!Array.isArray(value)) return true;
  for (const item of value) if (holdsObject(item)) return true;
  return false;
}

/** JSON with object keys sorted: two requests or answers that differ only in key order are the same. */
export function canonicalJson(value: unknown): string {
  // Params of block and hash reads (strings, numbers, booleans): nothing to sort, and no replacer called per value.
  if (!holdsObject(value)) return JSON.stringify(value);
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** A block hash named in the params (a hash argument, an EIP-1898 object, a log filter's `blockHash`). */
function hashInParams(params: unknown[]): string | undefined {
  for (const p of params) {
    if (typeof p === "string" && HASH_HEX.test(p)) return p.toLowerCase();
    const h = (p as { blockHash?: unknown } | null)?.blockHash;
    if (typeof h === "string" && HASH_HEX.test(h)) return h.toLowerCase();
  }
  return undefined;
}

/** Where the answer to a pinned read would be cached, or undefined when it may not be. */
export function cacheSlot(
  method: string,
  spec: MethodSpec,
  pinned: PinnedCall,
  view: CacheView,
): CacheSlot | undefined {
  if (spec.kind !== "read" || !spec.cache || !Array.isArray(pinned.params)) return undefined;
  const key = `${method}|${canonicalJson(pinned.params)}`;
  if (spec.cache === "tx") return { key, tags: [], ttlMs: view.unfinalizedTtlMs, shared: true };
  const number = pinned.blockNumber;
  if (number === undefined) {
    // Addressed by block hash: its content is fixed, until a reorg orphans it.
    const hash = hashInParams(pinned.params);
    return hash ? { key, tags: [hash], ttlMs: undefined, shared: true } : undefined;
  }
  if (spec.logFilter) {
    // A range: both ends must be block numbers (not `pending`, `safe`…).
    const filter = pinned.params[0] as { fromBlock?: unknown };
    if (parseBlockNumber(filter.fromBlock) === undefined) return undefined;
  }
  if (number > view.head) return undefined;
  if (number <= view.finalized) return { key, tags: [], ttlMs: undefined, shared: true };
  // Not final: the same number may name another block after a reorg, so the key says which block.
  const hash = view.hashAt(number)?.toLowerCase();
  if (!hash) return undefined;
  return { key: `${key}@${hash}`, tags: [hash], ttlMs: view.unfinalizedTtlMs, shared: false };
}

/** The block an answer addressed by hash belongs to: a block's `number`, or `blockNumber` of a record or a list's. */
function blockNumberOf(result: unknown): number | undefined {
  const record = (Array.isArray(result) ? result[0] : result) as { number?: unknown; blockNumber?: unknown } | null;
  if (typeof record !== "object" || record === null) return undefined;
  return parseBlockNumber(record.number ?? record.blockNumber);
}

/**
 * How an answer stands for keeping: `verified` (a proof or a quorum, as the method's policy asks), `single` (one
 * upstream's word, for a method whose policy takes it), `short` (less than the policy asks: never kept).
 */
export type AnswerStanding = "verified" | "single" | "short";

/**
 * Whether a successful answer is kept in its slot, and with what tags and lifetime. A `single` answer is never shared
 * and lives at most `unfinalizedTtlMs`, even about a final block — and a by-hash one never becomes final on the
 * `blockNumber` its own upstream put in it.
 */
export function keepAnswer(
  spec: MethodSpec,
  slot: CacheSlot,
  result: unknown,
  standing: AnswerStanding,
  view: CacheView,
): CacheSlot | undefined {
  if (standing === "short" || result === null || result === undefined) return undefined;
  const kept = standing === "verified" ? keepVerified(spec, slot, result, view) : keepTx(spec, slot, result, view);
  if (!kept || standing === "verified") return kept;
  return { ...kept, ttlMs: view.unfinalizedTtlMs, shared: false };
}

function keepVerified(spec: MethodSpec, slot: CacheSlot, result: unknown, view: CacheView): CacheSlot | undefined {
  if (spec.cache === "tx") return keepTx(spec, slot, result, view);
  if (!slot.shared || slot.tags.length === 0) return slot;
  // Addressed by a hash: final only once the block it belongs to is (an empty list says nothing of its block).
  const number = blockNumberOf(result);
  return { ...slot, shared: number !== undefined && number <= view.finalized };
}

/** A transaction or receipt: valid while the block holding it is on the chain; a pending one is not kept. */
function keepTx(spec: MethodSpec, slot: CacheSlot, result: unknown, view: CacheView): CacheSlot | undefined {
  if (spec.cache !== "tx") return slot;
  const { blockHash, blockNumber } = result as { blockHash?: unknown; blockNumber?: unknown };
  const number = parseBlockNumber(blockNumber);
  if (typeof blockHash !== "string" || !HASH_HEX.test(blockHash) || number === undefined) return undefined;
  return {
    key: slot.key,
    tags: [blockHash.toLowerCase()],
    ttlMs: number <= view.finalized ? undefined : view.unfinalizedTtlMs,
    shared: number <= view.finalized,
  };
}
