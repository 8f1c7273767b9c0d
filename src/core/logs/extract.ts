/**
 * The logs of one block that match a filter, derived from its receipts as a node's `eth_getLogs` shows them. Only
 * what the receipts root binds (each log's address, topics and data, in order) and what the verified header and body
 * bind (the block's hash, number and timestamp; each transaction's hash and index) is taken: `logIndex` is the log's
 * position in the block, counted here, and `removed` is false. Nothing else an upstream wrote into a receipt is served.
 */
import { toHex } from "../rpc/methods.ts";
import { type LogFilter, logMatches } from "./filter.ts";

type Json = Record<string, unknown>;

export interface ProvenBlock {
  hash: string;
  number: number;
  /** Seconds, from the verified header. */
  timestamp: number;
  /** The body's transaction hashes, in order (the receipts line up with them). */
  transactionHashes: readonly string[];
}

/**
 * `receipts` were checked against the block's receipts root and line up with `block.transactionHashes`.
 * `blockTimestamp` is shown only when the receipts' own logs carry it (newer nodes add it to every log; older ones
 * do not), its value the header's.
 */
export function extractLogs(receipts: readonly Json[], block: ProvenBlock, filter: LogFilter): Json[] {
  const matched: Json[] = [];
  const blockNumber = toHex(block.number);
  const blockTimestamp = toHex(block.timestamp);
  let logIndex = 0;
  for (const [i, receipt] of receipts.entries()) {
    const logs = Array.isArray(receipt.logs) ? (receipt.logs as Json[]) : [];
    for (const log of logs) {
      const index = logIndex++;
      if (!logMatches(log, filter)) continue;
      matched.push({
        address: String(log.address).toLowerCase(),
        topics: (log.topics as string[]).map((t) => t.toLowerCase()),
        data: String(log.data).toLowerCase(),
        blockHash: block.hash.toLowerCase(),
        blockNumber,
        ...("blockTimestamp" in log ? { blockTimestamp } : {}),
        transactionHash: block.transactionHashes[i]!.toLowerCase(),
        transactionIndex: toHex(i),
        logIndex: toHex(index),
        removed: false,
      });
    }
  }
  return matched;
}
