/**
 * `eth_getLogs` derived from proven blocks, never from an upstream's list of logs. For each block of the range, the
 * header (hash recomputed, linked by parent hashes to an anchored block: header-walk.ts) carries the logs bloom; a
 * bloom that lacks the filter's address or topics proves the block holds no match. The blocks whose bloom may match
 * have their body and receipts fetched and checked against the transactions and receipts roots (verified-blocks.ts,
 * the same receipts `eth_getBlockReceipts` serves), and their matching logs are extracted in order (core/logs/).
 *
 * Bounded: at most MAX_PROVEN_LOG_BLOCKS receipt lists per call (a chunk of a split range is a call of its own) and
 * MAX_HEADER_WALK_BLOCKS headers. Over a bound, or when a block cannot be proven (a header Multihome cannot hash, a
 * transaction type the stack cannot encode, no upstream giving a body or receipts that verify), the call is answered
 * by `quorum` instead — its evidence says so — never by one upstream's word.
 */

import { HASH_HEX, type Hex } from "../../core/hex.ts";
import { bloomMayMatch } from "../../core/logs/bloom.ts";
import { extractLogs } from "../../core/logs/extract.ts";
import { type LogFilter, logFilterOf } from "../../core/logs/filter.ts";
import { parseBlockNumber } from "../../core/rpc/methods.ts";
import type { Evidence } from "../answers/answer.ts";
import type { EngineContext } from "../context.ts";
import { createHeaderWalk, type HeaderWalkIo, type LinkedHeader } from "./header-walk.ts";
import type { Absent, Fetched, Json, VerifiedBody, VerifiedReceipts } from "./verified-blocks.ts";

/** Most blocks whose receipts one `eth_getLogs` call (or chunk) fetches; a filter matching more blooms is agreed. */
export const MAX_PROVEN_LOG_BLOCKS = 64;
/** Block bodies and receipt lists of one call fetched at once. */
export const PROVEN_LOG_FETCH_CONCURRENCY = 8;

export interface VerifiedLogsIo extends HeaderWalkIo {
  /** The block with this hash and its body, verified against its hash and roots. */
  bodyByHash(hash: Hex, head: number): Promise<Fetched<VerifiedBody | Absent>>;
  /** A verified block's receipts, checked against its receipts root and body. */
  receiptsOf(verified: VerifiedBody): Promise<Fetched<VerifiedReceipts>>;
}

export type ProvenLogs = { ok: true; logs: Json[]; evidence: Evidence } | { ok: false; reason: string };

export function createVerifiedLogs(ctx: Pick<EngineContext, "logger">, io: VerifiedLogsIo) {
  const walk = createHeaderWalk(io);

  /** The matching logs of one linked block, from its proven receipts; a string says why they cannot be had. */
  async function blockLogs(header: LinkedHeader, filter: LogFilter, head: number): Promise<Json[] | string> {
    const body = await io.bodyByHash(header.hash, head);
    if (!body.ok) return `block ${header.number}: ${body.error.message}`;
    if ("absentBy" in body.value) return `block ${header.number}: upstreams say it does not exist`;
    const verified = body.value;
    if (!verified.bodyProven) return `block ${header.number}: its transactions cannot all be encoded here`;
    const receipts = await io.receiptsOf(verified);
    if (!receipts.ok) return `block ${header.number}: ${receipts.error.message}`;
    if (!receipts.value.proven) return `block ${header.number}: a receipt field could not be borne out`;
    const block = { ...header, transactionHashes: verified.hashes };
    return extractLogs(receipts.value.receipts, block, filter);
  }

  /** The logs of `headers` (ascending), at most PROVEN_LOG_FETCH_CONCURRENCY blocks at once, in block order. */
  async function logsOf(headers: LinkedHeader[], filter: LogFilter, head: number): Promise<Json[] | string> {
    const candidates = headers.filter((h) => bloomMayMatch(h.logsBloom, filter));
    if (candidates.length > MAX_PROVEN_LOG_BLOCKS)
      return `${candidates.length} blocks may match, more than ${MAX_PROVEN_LOG_BLOCKS}`;
    const found: (Json[] | string)[] = new Array(candidates.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < candidates.length) {
        const i = next++;
        found[i] = await blockLogs(candidates[i]!, filter, head);
        if (typeof found[i] === "string") failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROVEN_LOG_FETCH_CONCURRENCY, candidates.length) }, worker));
    const failure = found.find((f) => typeof f === "string");
    return failure ?? (found as Json[][]).flat();
  }

  async function byRange(filter: LogFilter, from: number, to: number, head: number): Promise<ProvenLogs> {
    const walked = await walk.range(from, to, head);
    if (!walked.ok) return walked;
    const logs = await logsOf(walked.headers, filter, head);
    if (typeof logs === "string") return { ok: false, reason: logs };
    const { top } = walked;
    return {
      ok: true,
      logs,
      evidence: { blockNumber: to, verified: "proof", blockHash: top.hash, domains: top.domains },
    };
  }

  /** A block asked for by hash: proven only when it is the block anchored at its height (canonical). */
  async function byBlockHash(filter: LogFilter, hash: Hex, head: number): Promise<ProvenLogs> {
    const header = await walk.byHash(hash, head);
    if (!header) return { ok: false, reason: `no header of block ${hash} verified` };
    const anchored = header.number <= head ? await io.anchor(header.number) : undefined;
    if (anchored?.hash.toLowerCase() !== header.hash)
      return { ok: false, reason: `block ${hash} is not the block anchored at its height` };
    const logs = await logsOf([header], filter, head);
    if (typeof logs === "string") return { ok: false, reason: logs };
    return {
      ok: true,
      logs,
      evidence: { blockNumber: header.number, verified: "proof", blockHash: anchored.hash, domains: anchored.domains },
    };
  }

  return {
    /**
     * The logs `filter` (its range pinned to numbers at or below the agreed `head`, or one block hash) asks for,
     * proven; or why they cannot be (the caller then asks independent domains).
     */
    async logs(filter: Json, head: number): Promise<ProvenLogs> {
      const sets = logFilterOf(filter);
      const proven = !sets
        ? ({ ok: false, reason: "the filter's addresses or topics are not well-formed" } as const)
        : typeof filter.blockHash === "string" && HASH_HEX.test(filter.blockHash)
          ? await byBlockHash(sets, filter.blockHash.toLowerCase() as Hex, head)
          : await rangeOf(sets, filter, head);
      if (!proven.ok) ctx.logger.debug({ reason: proven.reason }, "eth_getLogs not proven: asking independent domains");
      return proven;
    },
  };

  function rangeOf(sets: LogFilter, filter: Json, head: number): Promise<ProvenLogs> | ProvenLogs {
    const from = parseBlockNumber(filter.fromBlock);
    const to = parseBlockNumber(filter.toBlock);
    if (from === undefined || to === undefined || from > to || to > head)
      return { ok: false, reason: "the range is not pinned at or below the agreed head" };
    return byRange(sets, from, to, head);
  }
}

export type VerifiedLogs = ReturnType<typeof createVerifiedLogs>;
