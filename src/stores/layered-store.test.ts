import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type RedisServer, startRedis } from "../../test/harness/redis.ts";
import { waitFor } from "../../test/harness/wait.ts";
import type { Logger } from "../core/ports.ts";
import type { SolanaSendRecord } from "../core/solana/send-record.ts";
import { type OutboxEntry, type Store, StoreError } from "../core/store.ts";
import { createLayeredStore } from "./layered-store.ts";
import { createMemoryStore } from "./memory/memory-store.ts";
import { createRedisStore, type RedisStore } from "./redis/redis-store.ts";
import { describeSolanaSendContract, solanaSendFixture } from "./solana-send-contract.ts";
import { outboxFixture } from "./store-contract.ts";

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

const logged: string[] = [];
const logger: Logger = {
  debug: () => {},
  info: (_, msg) => logged.push(`info ${msg}`),
  warn: (_, msg) => logged.push(`warn ${msg}`),
  error: (_, msg) => logged.push(`error ${msg}`),
  child: () => logger,
  isLevelEnabled: () => true,
};

const toClose: Store[] = [];
after(() => Promise.allSettled(toClose.map((s) => s.close())));
let next = 0;

async function redisStore(keyPrefix: string): Promise<RedisStore> {
  const store = createRedisStore({ url: redis.url, keyPrefix });
  toClose.push(store);
  assert.ok(await store.waitConnected(5_000), "redis did not connect in 5 s");
  return store;
}

/** One replica: its own memory store under the shared Redis, and a second connection standing for another replica. */
async function replica() {
  const keyPrefix = `layered${next++}:`;
  const local = createMemoryStore();
  const shared = await redisStore(keyPrefix);
  const layered = createLayeredStore(local, shared, logger);
  toClose.push(layered);
  return { keyPrefix, local, shared, layered, other: await redisStore(keyPrefix) };
}

// One replica's layered store over a fresh prefix; its close closes both tiers. Replicas are tested below: the merged
// list keeps what only this replica holds, so the contract's replica tests (one shared bound) do not apply to it.
describeSolanaSendContract("layered (memory over Redis)", {
  async open(limits) {
    const keyPrefix = `layered${next++}:`;
    const shared = createRedisStore({ url: redis.url, keyPrefix, ...limits });
    assert.ok(await shared.waitConnected(5_000), "redis did not connect in 5 s");
    return createLayeredStore(createMemoryStore(limits), shared, logger);
  },
});

const included = (tx: OutboxEntry): OutboxEntry => ({
  ...tx,
  status: "included",
  blockNumber: 3,
  blockHash: `0x${"cc".repeat(32)}`,
  updatedAt: tx.updatedAt + 10,
});

test("layered outbox: a put is in both tiers when it resolves; the list merges Redis's with the local one", async () => {
  const { local, layered, other } = await replica();
  const [mine, theirs, missed] = [outboxFixture(1), outboxFixture(2), outboxFixture(3)];
  await layered.putOutbox(mine);
  assert.deepEqual(await local.getOutbox(mine.chainId, mine.hash), mine);
  assert.deepEqual(await other.getOutbox(mine.chainId, mine.hash), mine, "Redis did not have it when the put resolved");

  await other.putOutbox(theirs);
  await local.putOutbox(missed);
  assert.deepEqual(await layered.listPendingOutbox(31337, 10), [mine, theirs, missed]);
  assert.deepEqual(await layered.listPendingOutbox(31337, 2), [mine, theirs]);

  // Another replica saw "mine" and "missed" mined: this one stops listing them and learns it locally.
  await other.putOutbox(included(mine));
  await other.putOutbox(included(missed));
  assert.deepEqual(await layered.listPendingOutbox(31337, 10), [theirs]);
  assert.deepEqual(await local.getOutbox(missed.chainId, missed.hash), included(missed));
  assert.deepEqual(await layered.getOutbox(mine.chainId, mine.hash), included(mine));

  await assert.rejects(layered.putOutbox({ ...mine, hash: "0x12" }), TypeError);
  assert.equal(layered.sharedUp(), true, "bad input read as Redis being down");
});

test("layered outbox: with Redis down puts resolve and lists come from local; Redis gets them when it is back", async () => {
  const { keyPrefix, local, shared, layered } = await replica();
  const [early, during] = [outboxFixture(1), outboxFixture(2)];
  await layered.putOutbox(early);

  await redis.kill();
  await waitFor(() => !shared.connected(), { timeoutMs: 5_000, what: "the client to see Redis gone" });
  await layered.putOutbox(during);
  assert.equal(layered.sharedUp(), false);
  assert.ok(logged.includes("warn shared store unreachable: serving from local state"));
  assert.deepEqual(await layered.listPendingOutbox(31337, 10), [early, during]);
  await layered.putOutbox(included(early));
  assert.deepEqual(await layered.listPendingOutbox(31337, 10), [during]);
  assert.deepEqual(await layered.getOutbox(early.chainId, early.hash), included(early));
  assert.deepEqual(await local.getOutbox(during.chainId, during.hash), during);

  // This Redis keeps nothing across a restart: what it holds afterwards came from the catch-up.
  await redis.start();
  assert.ok(await shared.waitConnected(5_000));
  await layered.catchUp();
  assert.equal(layered.sharedUp(), true);
  const other = await redisStore(keyPrefix);
  assert.deepEqual(await other.getOutbox(during.chainId, during.hash), during);
  assert.deepEqual(await other.getOutbox(early.chainId, early.hash), included(early));
  assert.deepEqual(await other.listPendingOutbox(31337, 10), [during]);
  assert.deepEqual(await layered.listPendingOutbox(31337, 10), [during]);
});

const finalized = (r: SolanaSendRecord): SolanaSendRecord => ({
  ...r,
  status: "finalized",
  slot: 30,
  updatedAt: r.updatedAt + 10,
});

test("layered Solana sends: a put is in both tiers when it resolves; lists merge; the furthest copy is read", async () => {
  const { local, layered, other } = await replica();
  const [mine, theirs, missed] = [solanaSendFixture(1), solanaSendFixture(2), solanaSendFixture(3)];
  await layered.putSolanaSend(mine);
  assert.deepEqual(await local.getSolanaSend(mine.cluster, mine.signature), mine);
  assert.deepEqual(await other.getSolanaSend(mine.cluster, mine.signature), mine, "Redis lacked it at the resolve");

  await other.putSolanaSend(theirs);
  await local.putSolanaSend(missed);
  assert.deepEqual(await layered.listPendingSolanaSends("devnet", 10), [mine, theirs, missed]);
  assert.deepEqual(await layered.listPendingSolanaSends("devnet", 2), [mine, theirs]);

  // A deeper commitment wins over a later update; a final status over both.
  const confirmed = { ...theirs, status: "confirmed" as const, slot: 20 };
  await local.putSolanaSend(confirmed);
  await other.putSolanaSend({ ...theirs, status: "processed", slot: 20, updatedAt: theirs.updatedAt + 5 });
  assert.deepEqual(await layered.getSolanaSend(theirs.cluster, theirs.signature), confirmed);

  // Another replica saw "mine" and "missed" finalized: this one stops listing them and learns it locally.
  await other.putSolanaSend(finalized(mine));
  await other.putSolanaSend(finalized(missed));
  assert.equal((await layered.listPendingSolanaSends("devnet", 10)).length, 1);
  assert.deepEqual(await local.getSolanaSend(missed.cluster, missed.signature), finalized(missed));
  assert.deepEqual(await layered.getSolanaSend(mine.cluster, mine.signature), finalized(mine));

  await assert.rejects(layered.putSolanaSend({ ...mine, signature: "0x12" }), TypeError);
  await assert.rejects(layered.getSolanaSend("Devnet", mine.signature), TypeError);
  assert.equal(layered.sharedUp(), true, "bad input read as Redis being down");
});

test("layered Solana sends: with Redis down puts resolve from local; Redis gets them when it is back", async () => {
  const { keyPrefix, local, shared, layered } = await replica();
  const [early, during] = [solanaSendFixture(1), solanaSendFixture(2)];
  await layered.putSolanaSend(early);

  await redis.kill();
  await waitFor(() => !shared.connected(), { timeoutMs: 5_000, what: "the client to see Redis gone" });
  await layered.putSolanaSend(during);
  assert.equal(layered.sharedUp(), false);
  assert.deepEqual(await layered.listPendingSolanaSends("devnet", 10), [early, during]);
  await layered.putSolanaSend(finalized(early));
  assert.deepEqual(await layered.listPendingSolanaSends("devnet", 10), [during]);
  assert.deepEqual(await layered.getSolanaSend(early.cluster, early.signature), finalized(early));
  assert.deepEqual(await local.getSolanaSend(during.cluster, during.signature), during);

  // This Redis keeps nothing across a restart: what it holds afterwards came from the catch-up.
  await redis.start();
  assert.ok(await shared.waitConnected(5_000));
  await layered.catchUp();
  assert.equal(layered.sharedUp(), true);
  const other = await redisStore(keyPrefix);
  assert.deepEqual(await other.getSolanaSend(during.cluster, during.signature), during);
  assert.deepEqual(await other.getSolanaSend(early.cluster, early.signature), finalized(early));
  assert.deepEqual(await other.listPendingSolanaSends("devnet", 10), [during]);
  assert.deepEqual(await layered.listPendingSolanaSends("devnet", 10), [during]);
});

test("catch-up: a write queued again while its older copy is being sent is not lost", async () => {
  const keyPrefix = `layered${next++}:`;
  const redisSide = await redisStore(keyPrefix);
  let failing = false;
  let gate: Promise<void> | undefined;
  // The real Redis store, with its writes failed or held on demand (an outage, a slow link).
  const shared: Store = {
    ...redisSide,
    async putOutbox(entry) {
      if (failing) throw new Error("redis down");
      if (gate) await gate;
      return redisSide.putOutbox(entry);
    },
    close: () => redisSide.close(),
  };
  const layered = createLayeredStore(createMemoryStore(), shared, logger);
  toClose.push(layered);
  const v1 = outboxFixture(7);
  failing = true;
  await layered.putOutbox(v1);
  failing = false;
  let release!: () => void;
  gate = new Promise((resolve) => (release = resolve));
  const first = layered.catchUp();
  // While v1 is on its way, the transaction is included and that write fails too.
  failing = true;
  await layered.putOutbox(included(v1));
  failing = false;
  gate = undefined;
  release();
  await first;
  await layered.catchUp();
  const other = await redisStore(keyPrefix);
  assert.equal((await other.getOutbox(v1.chainId, v1.hash))?.status, "included");
});

test("a closed layered store refuses every call and does not report the shared store as down", async () => {
  const { layered } = await replica();
  logged.length = 0;
  await layered.close();
  const closed = (e: unknown) => e instanceof StoreError && e.code === "closed";
  await assert.rejects(layered.getAnswer(1, "k"), closed);
  await assert.rejects(layered.putAnswer(1, "k", "1"), closed);
  await assert.rejects(layered.addToCounter("n", 1, 1_000, 0), closed);
  assert.deepEqual(
    logged.filter((l) => l.includes("unreachable")),
    [],
  );
});
