/**
 * The Redis store's Solana sends: the EVM outbox's layout and scripts under keys of their own, bounded apart from it.
 * Each record is a hash `{prefix}sol-ob:{cluster}:{signature}` (`e`: the record's JSON, `s`: status, `f`: the first
 * `firstSeenAt`), with sorted sets of the pending signatures per cluster `{prefix}sol-ob-pending:{cluster}` (score
 * `firstSeenAt`), of pending records of every cluster `{prefix}sol-ob-pending` and of final ones `{prefix}sol-ob-final`
 * (score: the order they became final). Members of the last two are "{signature}/{cluster}": "/" sorts before every
 * base58 character, so at one score Redis orders them as `comparePendingSolanaSends` does (signature, then cluster).
 */
import type { Redis } from "ioredis";
import {
  checkSolanaSend,
  checkSolanaSendAddress,
  checkSolanaSendList,
  SOLANA_SEND_FINAL_STATUSES,
  type SolanaSendRecord,
} from "../../core/solana/send-record.ts";
import {
  fromStored,
  listPending,
  pendingIndex,
  putRecord,
  type RecordBook,
  type RunRedis,
  recordKey,
} from "./pending-list.ts";

/** The Solana-send part of a Redis store; bad input throws before any command is sent. */
export function redisSolanaSends(redis: Redis, prefix: string, maxEntries: number, run: RunRedis) {
  const book: RecordBook = {
    name: `${prefix}sol-ob`,
    // "/" sorts before every base58 character: at one score Redis orders members as comparePendingSolanaSends does.
    separator: "/",
    finalStatuses: SOLANA_SEND_FINAL_STATUSES,
    bound: maxEntries,
  };
  return {
    async put(record: SolanaSendRecord): Promise<void> {
      const r = checkSolanaSend(record);
      await putRecord(redis, run, book, r, r.cluster, r.signature);
    },
    async get(cluster: string, signature: string): Promise<SolanaSendRecord | undefined> {
      checkSolanaSendAddress(cluster, signature);
      const [json, firstSeenAt] = await run("read_failed", () =>
        redis.hmget(recordKey(book, cluster, signature), "e", "f"),
      );
      return json ? fromStored(json, firstSeenAt) : undefined;
    },
    async listPending(cluster: string, limit: number): Promise<SolanaSendRecord[]> {
      checkSolanaSendList(cluster, limit);
      return listPending<SolanaSendRecord>(
        redis,
        run,
        pendingIndex(book, cluster),
        recordKey(book, cluster, ""),
        limit,
      );
    },
  };
}
