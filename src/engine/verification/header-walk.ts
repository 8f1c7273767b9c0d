/**
 * The headers of a block range, proven without a quorum per block. The top block is anchored (its hash agreed by
 * independent domains, its header hash recomputed); every header below it is asked of one upstream by number, its
 * hash recomputed from its fields, and must be the parent the header above it names. A header that does not link is
 * asked for again by the hash it must have, which no honest node can answer with anything else: one lie breaks the
 * chain, is found at the link it broke, and costs its supplier a dispute (at a depth where a reorg is no excuse).
 *
 * Headers are kept by hash (what a hash names never changes), so a range walked once is linked again from the cache:
 * a walk from another anchored block reuses whatever part of the chain below it is already known.
 */
import type { ForkSchedule } from "../../core/chain-presets.ts";
import type { Hex } from "../../core/hex.ts";
import { parseBlockNumber, toHex } from "../../core/rpc/methods.ts";
import { checkHeader } from "../../core/verification/header.ts";
import type { CallPlan, ExecuteResult, Verdict } from "../routing/execute.ts";
import { REORG_WALK_MAX_BLOCKS } from "../routing/head-tracker.ts";
import type { AnchoredBlock } from "./state-reads.ts";

/** The fields of a header whose hash was recomputed, linked to an anchored block by parent hashes. */
export interface LinkedHeader {
  number: number;
  hash: Hex;
  parentHash: Hex;
  logsBloom: Hex;
  receiptsRoot: Hex;
  /** Seconds since epoch. */
  timestamp: number;
}

/** Most headers one walk links (one header request each, when not known yet). */
export const MAX_HEADER_WALK_BLOCKS = 10_000;
/** Header requests of one walk in flight at once. */
export const HEADER_WALK_CONCURRENCY = 16;
/** Linked headers kept, by hash, oldest out first (about 1 KiB each: 8 MiB at most). */
export const MAX_LINKED_HEADERS = 8_192;

export interface HeaderWalkIo {
  /** The chain's fork schedule, when known: which fork fields each header must carry. */
  forks?: ForkSchedule;
  anchor(number: number): Promise<AnchoredBlock | undefined>;
  execute(plan: CallPlan): Promise<ExecuteResult>;
  onDispute(upstreamId: string, reason: string): void;
}

export type Walked = { ok: true; top: AnchoredBlock; headers: LinkedHeader[] } | { ok: false; reason: string };

type Fetched = { header: LinkedHeader; upstream: string };

function linkedOf(block: Record<string, unknown>, hash: Hex, number: number): LinkedHeader {
  return {
    number,
    hash,
    parentHash: String(block.parentHash).toLowerCase() as Hex,
    logsBloom: String(block.logsBloom).toLowerCase() as Hex,
    receiptsRoot: String(block.receiptsRoot).toLowerCase() as Hex,
    timestamp: Number(BigInt(String(block.timestamp))),
  };
}

export function createHeaderWalk(io: HeaderWalkIo) {
  const known = new Map<string, LinkedHeader>();
  const keep = (header: LinkedHeader) => {
    known.delete(header.hash);
    known.set(header.hash, header);
    if (known.size > MAX_LINKED_HEADERS) known.delete(known.keys().next().value!);
  };

  /** One header by number, or by the hash it must have; its hash recomputed from its fields. */
  async function fetchHeader(number: number, hash?: Hex): Promise<Fetched | undefined> {
    const fetched = await io.execute({
      method: hash ? "eth_getBlockByHash" : "eth_getBlockByNumber",
      params: [hash ?? toHex(number), false],
      heavy: false,
      minBlock: number,
      verify: (block): Verdict => {
        if (block === null)
          return { ok: false, reason: `no block ${number} from a node that should have it`, dispute: false };
        const check = checkHeader(block, io.forks);
        if (check.ok === false) return { ok: false, reason: `header: ${check.reason}` };
        // A field this code does not know: not a lie, but nothing this walk can link.
        if (check.ok !== true) return { ok: false, reason: `header: ${check.reason}`, dispute: false };
        if (parseBlockNumber((block as { number?: unknown }).number) !== number)
          return { ok: false, reason: "header has another number" };
        if (hash && check.hash.toLowerCase() !== hash)
          return { ok: false, reason: "header is not the block asked for" };
        return { ok: true, value: linkedOf(block as Record<string, unknown>, check.hash.toLowerCase() as Hex, number) };
      },
    });
    return fetched.ok ? { header: fetched.result as LinkedHeader, upstream: fetched.upstream } : undefined;
  }

  /** Headers `from..to` by number, at most HEADER_WALK_CONCURRENCY requests at once; a failed one is left out. */
  async function fetchRange(from: number, to: number): Promise<Map<number, Fetched>> {
    const got = new Map<number, Fetched>();
    let next = to;
    const worker = async () => {
      while (next >= from) {
        const n = next--;
        const fetched = await fetchHeader(n);
        if (fetched) got.set(n, fetched);
      }
    };
    await Promise.all(Array.from({ length: Math.min(HEADER_WALK_CONCURRENCY, to - from + 1) }, worker));
    return got;
  }

  /**
   * The headers of blocks `from..to` (ascending), linked by parent hashes down from the block anchored at `to`;
   * `head` is the agreed head (how deep a header that fails to link lies).
   */
  async function range(from: number, to: number, head: number): Promise<Walked> {
    if (to - from + 1 > MAX_HEADER_WALK_BLOCKS)
      return { ok: false, reason: `more than ${MAX_HEADER_WALK_BLOCKS} headers to link` };
    const top = await io.anchor(to);
    if (!top) return { ok: false, reason: `block ${to} is not anchored by independent upstreams` };
    if (top.headerDigest !== undefined) return { ok: false, reason: `the header of block ${to} cannot be hashed here` };
    const headers: LinkedHeader[] = new Array(to - from + 1);
    headers[to - from] = {
      number: to,
      hash: top.hash.toLowerCase() as Hex,
      parentHash: top.parentHash.toLowerCase() as Hex,
      logsBloom: top.logsBloom.toLowerCase() as Hex,
      receiptsRoot: top.receiptsRoot.toLowerCase() as Hex,
      timestamp: top.timestamp,
    };
    let expected = headers[to - from]!.parentHash;
    let n = to - 1;
    for (let cached = known.get(expected); n >= from && cached; cached = known.get(expected), n--) {
      headers[n - from] = cached;
      expected = cached.parentHash;
    }
    const byNumber = n >= from ? await fetchRange(from, n) : new Map<number, Fetched>();
    for (; n >= from; n--) {
      let got = byNumber.get(n);
      if (got?.header.hash !== expected) {
        const stray = got;
        got = await fetchHeader(n, expected);
        if (!got) return { ok: false, reason: `no upstream gave the header of block ${n} that block ${n + 1} names` };
        // Near the head a node may still be on another branch; deeper, a header off the anchored chain is a lie.
        if (stray && head - n >= REORG_WALK_MAX_BLOCKS)
          io.onDispute(stray.upstream, `header of block ${n} is not the parent of the anchored chain`);
      }
      keep(got.header);
      headers[n - from] = got.header;
      expected = got.header.parentHash;
    }
    return { ok: true, top, headers };
  }

  /** The header with this hash (from a walk, or fetched and hash-checked); `number` as it states, unverified. */
  async function byHash(hash: Hex, head: number): Promise<LinkedHeader | undefined> {
    const cached = known.get(hash.toLowerCase());
    if (cached) return cached;
    const fetched = await io.execute({
      method: "eth_getBlockByHash",
      params: [hash, false],
      heavy: false,
      minBlock: head,
      verify: (block): Verdict => {
        if (block === null) return { ok: true, value: null };
        const check = checkHeader(block, io.forks);
        if (check.ok !== true || check.hash.toLowerCase() !== hash.toLowerCase())
          return { ok: false, reason: "header is not the block asked for", dispute: check.ok !== "unverifiable" };
        const number = parseBlockNumber((block as { number?: unknown }).number);
        if (number === undefined) return { ok: false, reason: "header has no number" };
        return { ok: true, value: linkedOf(block as Record<string, unknown>, hash.toLowerCase() as Hex, number) };
      },
    });
    return fetched.ok && fetched.result !== null ? (fetched.result as LinkedHeader) : undefined;
  }

  return { range, byHash };
}

export type HeaderWalk = ReturnType<typeof createHeaderWalk>;
