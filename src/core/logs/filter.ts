/**
 * A log filter's address and topic sets, and whether a log matches them — one rule for `eth_getLogs` answers derived
 * from receipts and for `logs` subscriptions. A topic position that is `null` or an empty list matches anything, also
 * a log with fewer topics (as reth and anvil match; go-ethereum drops a log with fewer topics than the filter has
 * positions); a position with alternatives needs the log to have one of them there.
 */
import { ADDRESS_HEX, HASH_HEX } from "../hex.ts";

type Json = Record<string, unknown>;

export interface LogFilter {
  /** Lowercase addresses; empty: any. */
  addresses: string[];
  /** Per position: lowercase alternatives; `null`: any. */
  topics: (string[] | null)[];
}

export function logMatches(log: Json, filter: LogFilter): boolean {
  if (filter.addresses.length > 0 && !filter.addresses.includes(String(log.address).toLowerCase())) return false;
  const topics = Array.isArray(log.topics) ? (log.topics as unknown[]) : [];
  return filter.topics.every(
    (alternatives, i) => alternatives === null || alternatives.includes(String(topics[i]).toLowerCase()),
  );
}

/**
 * The address and topic sets of an `eth_getLogs` filter, or undefined when they are not well-formed (the question is
 * then left to the nodes, whose error the client gets).
 */
export function logFilterOf(filter: Json): LogFilter | undefined {
  const raw = filter.address;
  const addresses = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  if (!addresses.every((a) => typeof a === "string" && ADDRESS_HEX.test(a))) return undefined;
  const rawTopics = filter.topics ?? [];
  if (!Array.isArray(rawTopics) || rawTopics.length > 4) return undefined;
  const topics: (string[] | null)[] = [];
  for (const position of rawTopics) {
    const alternatives = position === null ? [] : Array.isArray(position) ? position : [position];
    if (!alternatives.every((t) => typeof t === "string" && HASH_HEX.test(t))) return undefined;
    topics.push(alternatives.length === 0 ? null : alternatives.map((t: string) => t.toLowerCase()));
  }
  return { addresses: (addresses as string[]).map((a) => a.toLowerCase()), topics };
}
