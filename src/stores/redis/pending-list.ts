/**
 * What the Redis store's two outboxes (EVM transactions, Solana sends) read alike: a record kept as a hash (`e`: its
 * JSON, `f`: its first `firstSeenAt`, kept apart so no script re-encodes the JSON) and a chain's pending index, a sorted
 * set of record ids scored by `firstSeenAt`.
 */
import type { Redis } from "ioredis";

/** Runs one command; a Redis failure is a StoreError of `kind` (the Redis store's own). */
export type RunRedis = <T>(kind: "read_failed" | "write_failed", command: () => Promise<T>) => Promise<T>;

/**
 * KEYS: the pending index. ARGV: limit, the key prefix of its records (a member is appended). One snapshot: index and
 * records together, as `[json, firstSeenAt, json, firstSeenAt, …]`.
 */
const LIST_PENDING = `
local out = {}
local limit = tonumber(ARGV[1])
if limit == 0 then return out end
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, limit - 1)) do
  local fields = redis.call('HMGET', ARGV[2] .. member, 'e', 'f')
  if fields[1] then
    table.insert(out, fields[1])
    table.insert(out, fields[2])
  end
end
return out
`;

/** A record as kept: its JSON, with its first `firstSeenAt`. */
export function fromStored<T extends { firstSeenAt: number }>(json: string, firstSeenAt: string | null | undefined): T {
  const record = JSON.parse(json) as T;
  if (firstSeenAt) record.firstSeenAt = Number(firstSeenAt);
  return record;
}

/** The first `limit` pending records of an index, oldest first. */
export async function listPending<T extends { firstSeenAt: number }>(
  redis: Redis,
  run: RunRedis,
  index: string,
  recordPrefix: string,
  limit: number,
): Promise<T[]> {
  const flat = (await run("read_failed", () =>
    redis.eval(LIST_PENDING, 1, index, String(limit), recordPrefix),
  )) as string[];
  const records: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) records.push(fromStored<T>(flat[i]!, flat[i + 1]));
  return records;
}
