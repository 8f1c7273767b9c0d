/**
 * The shared store: Redis (or Valkey), so gateway replicas in different clouds share what they proved. Keep-the-newest
 * and the size bound run in one Lua script, atomic across replicas. Every command has a short deadline: a Redis that
 * is gone costs a request nothing but that deadline (see `layered-store.ts` for serving on without it). An outbox
 * put resolves once Redis acknowledged it; how durable that is then is Redis's own persistence setting. Solana sends
 * follow the same rules under keys of their own (`solana-sends.ts`).
 */
import { Redis } from "ioredis";
import { OUTBOX_FINAL_STATUSES } from "../../core/outbox/entry.ts";
import {
  answerCost,
  checkAnswer,
  checkCordon,
  checkCordonChain,
  checkCounter,
  checkLastKnownGoodAddress,
  checkOutboxAddress,
  checkOutboxEntry,
  checkOutboxList,
  fromHeld,
  type HeldLastKnownGood,
  lastKnownGoodId,
  MAX_CORDONS_PER_CHAIN,
  type OutboxEntry,
  resolveStoreLimits,
  SHARED_KEY_PREFIX_DEFAULT,
  type SharedCordon,
  type Store,
  StoreError,
  type StoreLimits,
  toHeld,
} from "../../core/store.ts";
import { fromStored, listPending, pendingIndex, putRecord, type RecordBook, recordKey } from "./pending-list.ts";
import { redisSolanaSends } from "./solana-sends.ts";

/** Deadline of one Redis command, ms. */
export const REDIS_COMMAND_TIMEOUT_MS = 250;
/** Deadline of connecting, ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 1_000;
/** Longest pause between reconnection attempts while Redis is down, ms. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 2_000;

/** KEYS: entry, recording-order index, sequence. ARGV: block number, entry JSON, bound. */
const PUT_NEWEST = `
local current = redis.call('HGET', KEYS[1], 'b')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'e', ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  for _, k in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('DEL', k) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
return 1
`;

/** KEYS: the chain's cordon hash. ARGV: upstream id, until, cordon JSON. A later `until` wins. */
const PUT_CORDON = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(cjson.decode(current)['until']) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * KEYS: answer, keeping-order index, sequence, byte total, cost per answer. ARGV: answer JSON, byte bound, its cost
 * (`answerCost`, as every store counts it). A put replaces what the key held (its cost comes off the total) and makes
 * it the most recently kept; beyond the bound the least recently kept go, in the same script, so replicas never race.
 */
const PUT_ANSWER = `
local replaced = redis.call('HGET', KEYS[5], KEYS[1])
if replaced then redis.call('DECRBY', KEYS[4], tonumber(replaced)) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), KEYS[1])
redis.call('HSET', KEYS[5], KEYS[1], ARGV[3])
local total = redis.call('INCRBY', KEYS[4], tonumber(ARGV[3]))
while total > tonumber(ARGV[2]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest then break end
  total = redis.call('DECRBY', KEYS[4], tonumber(redis.call('HGET', KEYS[5], oldest) or '0'))
  redis.call('DEL', oldest)
  redis.call('ZREM', KEYS[2], oldest)
  redis.call('HDEL', KEYS[5], oldest)
end
return 1
`;

/** KEYS: the counter's window. ARGV: amount, window ms. The window's key outlives the window once, then goes. */
const ADD_TO_COUNTER = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2])) end
return total
`;

export interface RedisStoreOptions extends Partial<StoreLimits> {
  url: string;
  /** Prefix of every key, so several deployments (or tests) share one Redis. @default SHARED_KEY_PREFIX_DEFAULT ("multihome:") */
  keyPrefix?: string;
  /** Told when the connection to Redis is lost or back (static stability is reported, not silent). */
  onConnection?: (up: boolean) => void;
}

export interface RedisStore extends Store {
  /** Whether the connection is up right now. */
  connected(): boolean;
  /** Resolves once connected (false after `timeoutMs`): commands fail at once while Redis is unreachable. */
  waitConnected(timeoutMs: number): Promise<boolean>;
}

export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { maxEntries, maxAnswerBytes, maxOutboxEntries } = resolveStoreLimits(options);
  const prefix = options.keyPrefix ?? SHARED_KEY_PREFIX_DEFAULT;
  const redis = new Redis(options.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 100, REDIS_MAX_RECONNECT_DELAY_MS),
  });
  let up = false;
  redis.on("ready", () => {
    if (!up) options.onConnection?.(true);
    up = true;
  });
  redis.on("close", () => {
    if (up) options.onConnection?.(false);
    up = false;
  });
  // Connection errors are reported through onConnection and each command's rejection; an unhandled 'error' event
  // would crash the process.
  redis.on("error", () => {});
  let closed = false;
  const entryKey = (chainId: number, key: string) => `${prefix}lkg:${lastKnownGoodId(chainId, key)}`;
  const outbox: RecordBook = {
    name: `${prefix}ob`,
    separator: ":",
    finalStatuses: OUTBOX_FINAL_STATUSES,
    bound: maxOutboxEntries,
  };
  const ensureOpen = () => {
    if (closed) throw new StoreError("closed", "the redis store is closed");
  };
  /** Runs one command; a Redis failure is a StoreError of `kind` (bad input was refused before, as a TypeError). */
  async function run<T>(kind: "read_failed" | "write_failed", command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreError(kind, `redis: ${(error as Error).message}`, { cause: error });
    }
  }
  // Bounded apart from the EVM outbox, by the same maxOutboxEntries.
  const solanaSends = redisSolanaSends(redis, prefix, maxOutboxEntries, run);

  return {
    connected: () => up,
    waitConnected(timeoutMs) {
      if (up) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          redis.off("ready", onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve(true);
        };
        redis.once("ready", onReady);
      });
    },
    async putLastKnownGood(entry) {
      ensureOpen();
      const stored = JSON.stringify(toHeld(entry));
      await run("write_failed", () =>
        redis.eval(
          PUT_NEWEST,
          3,
          entryKey(entry.chainId, entry.key),
          `${prefix}lkg-order`,
          `${prefix}lkg-seq`,
          String(entry.blockNumber),
          stored,
          String(maxEntries),
        ),
      );
    },
    async putCordon(cordon) {
      ensureOpen();
      const c = checkCordon(cordon);
      await run("write_failed", () =>
        redis.eval(PUT_CORDON, 1, `${prefix}cordons:${c.chainId}`, c.upstreamId, String(c.until), JSON.stringify(c)),
      );
    },
    async getCordons(chainId, now) {
      ensureOpen();
      checkCordonChain(chainId);
      const all = await run("read_failed", () => redis.hgetall(`${prefix}cordons:${chainId}`));
      const live: SharedCordon[] = [];
      const expired: string[] = [];
      for (const [upstreamId, raw] of Object.entries(all)) {
        const c = JSON.parse(raw) as SharedCordon;
        if (c.until > now) live.push(c);
        else expired.push(upstreamId);
      }
      // Nothing else removes a cordon: the one who reads an expired one drops it (a later put wins anyway).
      if (expired.length > 0) redis.hdel(`${prefix}cordons:${chainId}`, ...expired).catch(() => {});
      return live.slice(0, MAX_CORDONS_PER_CHAIN);
    },
    async getLastKnownGood(chainId, key) {
      ensureOpen();
      checkLastKnownGoodAddress(chainId, key);
      const raw = await run("read_failed", () => redis.hget(entryKey(chainId, key), "e"));
      if (raw === null) return undefined;
      // An entry an older Multihome kept has no block timestamp: fromHeld leaves it out.
      return fromHeld(JSON.parse(raw) as HeldLastKnownGood);
    },
    async putAnswer(chainId, key, json) {
      ensureOpen();
      const id = checkAnswer(chainId, key, json);
      await run("write_failed", () =>
        redis.eval(
          PUT_ANSWER,
          5,
          `${prefix}ans:${id}`,
          `${prefix}ans-order`,
          `${prefix}ans-seq`,
          `${prefix}ans-bytes`,
          `${prefix}ans-cost`,
          json,
          String(maxAnswerBytes),
          String(answerCost(key, json)),
        ),
      );
    },
    async getAnswer(chainId, key) {
      ensureOpen();
      const id = checkAnswer(chainId, key);
      return (await run("read_failed", () => redis.get(`${prefix}ans:${id}`))) ?? undefined;
    },
    async putOutbox(entry) {
      ensureOpen();
      const e = checkOutboxEntry(entry);
      await putRecord(redis, run, outbox, e, String(e.chainId), e.hash);
    },
    async getOutbox(chainId, hash) {
      ensureOpen();
      const h = checkOutboxAddress(chainId, hash);
      const [json, firstSeenAt] = await run("read_failed", () =>
        redis.hmget(recordKey(outbox, String(chainId), h), "e", "f"),
      );
      return json ? fromStored<OutboxEntry>(json, firstSeenAt) : undefined;
    },
    async listPendingOutbox(chainId, limit) {
      ensureOpen();
      checkOutboxList(chainId, limit);
      return listPending<OutboxEntry>(
        redis,
        run,
        pendingIndex(outbox, String(chainId)),
        recordKey(outbox, String(chainId), ""),
        limit,
      );
    },
    async putSolanaSend(record) {
      ensureOpen();
      await solanaSends.put(record);
    },
    async getSolanaSend(cluster, signature) {
      ensureOpen();
      return solanaSends.get(cluster, signature);
    },
    async listPendingSolanaSends(cluster, limit) {
      ensureOpen();
      return solanaSends.listPending(cluster, limit);
    },
    async addToCounter(name, amount, windowMs, now) {
      ensureOpen();
      const windowKey = checkCounter(name, amount, windowMs, now);
      const total = await run("write_failed", () =>
        redis.eval(ADD_TO_COUNTER, 1, `${prefix}ctr:${windowKey}`, String(amount), String(windowMs)),
      );
      return Number(total);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
