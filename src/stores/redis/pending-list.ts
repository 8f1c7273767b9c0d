/**
 * What the Redis store's two outboxes (EVM transactions, Solana sends) keep and read alike, each in a book of its own
 * (`RecordBook`): a record kept as a hash `{book}:{scope}:{id}` (`e`: its JSON, `s`: its status, `f`: its first
 * `firstSeenAt`, kept apart so no script re-encodes the JSON), a scope's (chain's, cluster's) pending index
 * `{book}-pending:{scope}` (a sorted set of record ids scored by `firstSeenAt`), and the book's indexes of every
 * scope's pending records `{book}-pending` and of final ones `{book}-final` (scored by the order they became final),
 * whose members are `{id}{separator}{scope}`.
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

/**
 * KEYS: record hash, its scope's pending index, every scope's pending index, final index, sequence.
 * ARGV: record JSON, status, firstSeenAt, global member ("{id}{separator}{scope}"), id, bound, the record keys' prefix,
 * the pending indexes' prefix, separator (a character neither in an id nor magic in a Lua pattern), final statuses
 * (comma-separated).
 * A final record is frozen; a pending one keeps its first firstSeenAt (field 'f', which overrides the JSON's, so the
 * script never re-encodes JSON: cjson would round large numbers). Beyond the bound the records that became final
 * longest ago go first, pending ones (oldest firstSeenAt, then member) only when every record is pending.
 */
const PUT_RECORD = `
local final = {}
for status in string.gmatch(ARGV[10], '[^,]+') do final[status] = true end
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
local member = '^([^' .. ARGV[9] .. ']+)' .. ARGV[9] .. '(.+)$'
local over = redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])
while over > 0 do
  local index = KEYS[4]
  local victim = redis.call('ZRANGE', index, 0, 0)[1]
  if not victim then
    index = KEYS[3]
    victim = redis.call('ZRANGE', index, 0, 0)[1]
  end
  if not victim then break end
  local id, scope = string.match(victim, member)
  redis.call('DEL', ARGV[7] .. scope .. ':' .. id)
  redis.call('ZREM', index, victim)
  if index == KEYS[3] then redis.call('ZREM', ARGV[8] .. scope, id) end
  over = over - 1
end
return 1
`;

/** Where one outbox (EVM transactions, Solana sends) keeps its records, and which of its statuses are final. */
export interface RecordBook {
  /** `{prefix}ob`, `{prefix}sol-ob`: a record is `{name}:{scope}:{id}`, a scope's pending index `{name}-pending:{scope}`. */
  name: string;
  /** Between id and scope in the global indexes' members; sorts before every character of an id. */
  separator: string;
  finalStatuses: readonly string[];
  /** Records kept at most (final ones longest final go first). */
  bound: number;
}

/** A record's hash, and a scope's pending index, in a book. */
export const recordKey = (book: RecordBook, scope: string, id: string) => `${book.name}:${scope}:${id}`;
export const pendingIndex = (book: RecordBook, scope: string) => `${book.name}-pending:${scope}`;

/** Puts one record under the book's rules (frozen once final, first `firstSeenAt` kept, bounded), in one script. */
export async function putRecord(
  redis: Redis,
  run: RunRedis,
  book: RecordBook,
  record: { status: string; firstSeenAt: number },
  scope: string,
  id: string,
): Promise<void> {
  await run("write_failed", () =>
    redis.eval(
      PUT_RECORD,
      5,
      recordKey(book, scope, id),
      pendingIndex(book, scope),
      `${book.name}-pending`,
      `${book.name}-final`,
      `${book.name}-seq`,
      JSON.stringify(record),
      record.status,
      String(record.firstSeenAt),
      `${id}${book.separator}${scope}`,
      id,
      String(book.bound),
      `${book.name}:`,
      `${book.name}-pending:`,
      book.separator,
      book.finalStatuses.join(","),
    ),
  );
}

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
