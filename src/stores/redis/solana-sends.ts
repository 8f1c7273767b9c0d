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
  type SolanaSendRecord,
} from "../../core/solana/send-record.ts";
import { fromStored, listPending, type RunRedis } from "./pending-list.ts";

/**
 * KEYS: record hash, the cluster's pending index, every cluster's pending index, final index, sequence.
 * ARGV: record JSON, status, firstSeenAt, global member ("signature/cluster"), signature, bound, key prefix.
 * A final record is frozen; a pending one keeps its first firstSeenAt (field 'f', which overrides the JSON's, so the
 * script never re-encodes JSON: cjson would round large numbers). Beyond the bound the records that became final
 * longest ago go first, pending ones (oldest firstSeenAt, then member) only when every record is pending.
 */
const PUT_SOLANA_SEND = `
local final = { finalized = true, expired = true, rejected = true }
local current = redis.call('HGET', KEYS[1], 's')
if current and final[current] then return 0 end
if current then
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 's', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 's', ARGV[2], 'f', ARGV[3])
end
if final[ARGV[2]] then
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[4])
elseif not current then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
local over = redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])
while over > 0 do
  local index = KEYS[4]
  local victim = redis.call('ZRANGE', index, 0, 0)[1]
  if not victim then
    index = KEYS[3]
    victim = redis.call('ZRANGE', index, 0, 0)[1]
  end
  if not victim then break end
  local signature, cluster = string.match(victim, '^([^/]+)/(.+)$')
  redis.call('DEL', ARGV[7] .. 'sol-ob:' .. cluster .. ':' .. signature)
  redis.call('ZREM', index, victim)
  if index == KEYS[3] then redis.call('ZREM', ARGV[7] .. 'sol-ob-pending:' .. cluster, signature) end
  over = over - 1
end
return 1
`;

/** The Solana-send part of a Redis store; bad input throws before any command is sent. */
export function redisSolanaSends(redis: Redis, prefix: string, maxEntries: number, run: RunRedis) {
  const recordKey = (cluster: string, signature: string) => `${prefix}sol-ob:${cluster}:${signature}`;
  const pendingKey = (cluster: string) => `${prefix}sol-ob-pending:${cluster}`;
  return {
    async put(record: SolanaSendRecord): Promise<void> {
      const r = checkSolanaSend(record);
      await run("write_failed", () =>
        redis.eval(
          PUT_SOLANA_SEND,
          5,
          recordKey(r.cluster, r.signature),
          pendingKey(r.cluster),
          `${prefix}sol-ob-pending`,
          `${prefix}sol-ob-final`,
          `${prefix}sol-ob-seq`,
          JSON.stringify(r),
          r.status,
          String(r.firstSeenAt),
          `${r.signature}/${r.cluster}`,
          r.signature,
          String(maxEntries),
          prefix,
        ),
      );
    },
    async get(cluster: string, signature: string): Promise<SolanaSendRecord | undefined> {
      checkSolanaSendAddress(cluster, signature);
      const [json, firstSeenAt] = await run("read_failed", () => redis.hmget(recordKey(cluster, signature), "e", "f"));
      return json ? fromStored(json, firstSeenAt) : undefined;
    },
    async listPending(cluster: string, limit: number): Promise<SolanaSendRecord[]> {
      checkSolanaSendList(cluster, limit);
      return listPending<SolanaSendRecord>(redis, run, pendingKey(cluster), `${prefix}sol-ob:${cluster}:`, limit);
    },
  };
}
