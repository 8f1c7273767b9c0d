import { after, before } from "node:test";
import { type RedisServer, startRedis } from "../../../test/harness/redis.ts";
import type { Store, StoreLimits } from "../../core/store.ts";
import { describeSolanaSendContract } from "../solana-send-contract.ts";
import { describeStoreContract, type StoreContractSubject } from "../store-contract.ts";
import { createRedisStore } from "./redis-store.ts";

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

let next = 0;
/** Each store's key prefix and bounds: a restart opens the same keys with the same configuration. */
const opened = new WeakMap<Store, { keyPrefix: string; limits?: Partial<StoreLimits> }>();

const subject: StoreContractSubject = {
  async open(limits) {
    const keyPrefix = `t${next++}:`;
    const store = createRedisStore({ url: redis.url, keyPrefix, ...limits });
    opened.set(store, { keyPrefix, ...(limits ? { limits } : {}) });
    await store.waitConnected(5_000);
    return store;
  },
  async peer(store) {
    const { keyPrefix, limits } = opened.get(store)!;
    const other = createRedisStore({ url: redis.url, keyPrefix, ...limits });
    opened.set(other, { keyPrefix, ...(limits ? { limits } : {}) });
    await other.waitConnected(5_000);
    return other;
  },
  async reopen(closed) {
    const before = opened.get(closed)!;
    const store = createRedisStore({ url: redis.url, keyPrefix: before.keyPrefix, ...before.limits });
    opened.set(store, before);
    await store.waitConnected(5_000);
    return store;
  },
};
describeStoreContract("redis", subject);
describeSolanaSendContract("redis", subject);
