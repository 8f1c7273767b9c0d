/**
 * What an `eth_getLogs` answer must be, whoever gave it: every log inside the block range asked for (or in the block
 * asked for by hash), from an address the filter names, with the topics the filter asks for. An answer that breaks
 * the filter is false by its own content — no other upstream is needed to reject it. (What a filter cannot show is a
 * log left out; that takes agreement or receipts.)
 */
import { parseBlockNumber } from "../rpc/methods.ts";

type Json = Record<string, unknown>;

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : undefined);

function oneOf(want: unknown): Set<string> | undefined {
  if (want === null || want === undefined) return undefined;
  const list = Array.isArray(want) ? want : [want];
  if (list.length === 0) return undefined;
  return new Set(list.map((x) => String(x).toLowerCase()));
}

/** Why `logs` cannot be the answer to `filter` (its block range already pinned to numbers), or undefined. */
export function logsBreakFilter(logs: unknown, filter: Json): string | undefined {
  if (!Array.isArray(logs)) return "logs is not a list";
  const from = parseBlockNumber(filter.fromBlock);
  const to = parseBlockNumber(filter.toBlock);
  const blockHash = lower(filter.blockHash);
  const addresses = oneOf(filter.address);
  const topics = Array.isArray(filter.topics) ? filter.topics.map(oneOf) : [];
  for (const [i, entry] of logs.entries()) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return `log ${i} is not an object`;
    const log = entry as Json;
    const number = parseBlockNumber(log.blockNumber);
    if (number === undefined) return `log ${i} has no block number`;
    if ((from !== undefined && number < from) || (to !== undefined && number > to))
      return `log ${i} is in block ${number}, outside the range asked for`;
    if (blockHash !== undefined && lower(log.blockHash) !== blockHash) return `log ${i} is in another block`;
    if (addresses && !addresses.has(lower(log.address) ?? ""))
      return `log ${i} is from an address the filter does not name`;
    const logTopics = Array.isArray(log.topics) ? log.topics : [];
    for (const [t, want] of topics.entries()) {
      if (want && !want.has(lower(logTopics[t]) ?? "")) return `log ${i} does not have topic ${t} the filter asks for`;
    }
  }
  return undefined;
}
