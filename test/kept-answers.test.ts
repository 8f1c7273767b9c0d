/**
 * FAULTS C9: one upstream lies in a `single` answer about an old, final block. Its word is served (that is what
 * `single` means) but kept only briefly in the process: never written to the shared store, so it does not outlive a
 * restart nor reach another replica; and a verified answer replaces an unverified one an older version stored.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { type App, startApp } from "../src/app/app.ts";
import type { Config } from "../src/config/index.ts";
import { silentLogger } from "../src/core/ports.ts";
import { canonicalJson } from "../src/core/rpc/cache-policy.ts";
import { createRedisStore } from "../src/stores/redis/redis-store.ts";
import { openSqliteStore } from "../src/stores/sqlite/sqlite-store.ts";
import { systemClock } from "../src/system/system.ts";
import { startTestNetwork, type TestNetwork } from "./harness/network.ts";
import { startRedis } from "./harness/redis.ts";
import { waitFor } from "./harness/wait.ts";

/** What the liar answers to every eth_call. */
const LIE = `0x${"de".repeat(32)}`;
/** An address without code: every honest node answers an eth_call to it with "0x". */
const NO_CODE = "0x00000000000000000000000000000000000000c0";
/** An eth_call at block 1, final once the head is 2 blocks past it. */
const CALL_AT_BLOCK_1 = [{ to: NO_CODE, data: "0x" }, "0x1"];
const CALL_KEY = `eth_call|${canonicalJson(CALL_AT_BLOCK_1)}`;

/** u1 answers every eth_call with LIE; u2 and u3 fail it, so the gateway has nobody else to take it from. */
async function onlyTheLiarAnswersCalls(net: TestNetwork): Promise<void> {
  await net.proxies.get("u1")!.setFault({
    fault: { kind: "rewrite", fn: (_request, response) => ({ ...(response as object), result: LIE }) },
    methods: ["eth_call"],
  });
  for (const id of ["u2", "u3"])
    await net.proxies.get(id)!.setFault({ fault: { kind: "status", status: 503 }, methods: ["eth_call"] });
}

async function honestAgain(net: TestNetwork): Promise<void> {
  for (const p of net.proxies.values()) await p.clearFault();
}

async function rpcTo(app: App, chainId: number, method: string, params: unknown[]) {
  const res = await fetch(`${app.server.url}/rpc/${chainId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return { verified: res.headers.get("multihome-verified"), body: (await res.json()) as { result?: unknown } };
}

/** The answers kept in a SQLite store's file for eth_call, as another process would read them. */
function storedCalls(path: string): { key: string; json: string }[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT key, json FROM answers WHERE key LIKE 'eth_call|%'").all() as {
      key: string;
      json: string;
    }[];
  } finally {
    db.close();
  }
}

test("C9, SQLite: a liar's single answer about a final block is not stored, lives briefly, and a verified one replaces a stored lie", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "multihome-kept-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "state.db");
  const net = await startTestNetwork({
    config: {
      store: { kind: "sqlite", path },
      cache: { finalityDepth: 2, unfinalizedTtlMs: 500 },
      verification: { methods: { eth_call: "single" } },
    },
  });
  t.after(() => net.stop());
  await net.devnet.mine(4);
  await net.synced();

  await onlyTheLiarAnswersCalls(net);
  const lied = await net.rpc("eth_call", CALL_AT_BLOCK_1);
  assert.equal(lied.body.result, LIE, "the liar answered (one upstream's word is what `single` serves)");
  assert.equal(lied.headers.get("multihome-verified"), "single");
  await honestAgain(net);

  // In the process: kept no longer than an unfinalized answer, although block 1 is final.
  await waitFor(async () => (await net.rpc("eth_call", CALL_AT_BLOCK_1)).body.result === "0x", {
    timeoutMs: 10_000,
    what: "the honest answer once the liar's has expired from the process cache",
  });

  // In the store: nothing (stopping the gateway writes everything it buffered).
  await net.app.stop();
  assert.deepEqual(storedCalls(path), [], "one upstream's word was written to the store");

  // After a restart on the same file, the question goes to upstreams again.
  const config: Config = { ...net.config };
  const restarted = await startApp(config, { logger: silentLogger, readyTimeoutMs: 10_000 });
  const afterRestart = await rpcTo(restarted, net.chainId, "eth_call", CALL_AT_BLOCK_1);
  await restarted.stop();
  assert.equal(afterRestart.body.result, "0x");

  // A lie an older version did keep there (it stored single answers about final blocks) is not served, and the
  // verified answer takes its place.
  const older = await openSqliteStore({ path, clock: systemClock });
  await older.putAnswer(
    net.chainId,
    CALL_KEY,
    JSON.stringify({ result: LIE, evidence: { blockNumber: 1, verified: "single", upstream: "u1" } }),
  );
  await older.close();
  const quorum: Config = {
    ...net.config,
    verification: { ...net.config.verification, methods: { ...net.config.verification.methods, eth_call: "quorum" } },
  };
  const verifying = await startApp(quorum, { logger: silentLogger, readyTimeoutMs: 10_000 });
  const verified = await rpcTo(verifying, net.chainId, "eth_call", CALL_AT_BLOCK_1);
  await verifying.stop();
  assert.equal(verified.body.result, "0x", "the stored lie was served");
  assert.equal(verified.verified, "quorum");
  const kept = storedCalls(path);
  assert.equal(kept.length, 1);
  assert.equal(kept[0]!.key, CALL_KEY);
  assert.deepEqual(
    { result: JSON.parse(kept[0]!.json).result, verified: JSON.parse(kept[0]!.json).evidence.verified },
    { result: "0x", verified: "quorum" },
    "the verified answer replaced the stored lie",
  );
});

test("C9, Redis: a liar's single answer one replica served never reaches another replica", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const net = await startTestNetwork({
    config: {
      store: { kind: "redis", url: redis.url, keyPrefix: "kept:" },
      cache: { finalityDepth: 2 },
      verification: { methods: { eth_call: "single" } },
    },
  });
  t.after(() => net.stop());
  await net.devnet.mine(4);
  await net.synced();
  const other = await startApp(net.config, { logger: silentLogger, readyTimeoutMs: 10_000 });
  t.after(() => other.stop());

  await onlyTheLiarAnswersCalls(net);
  const lied = await net.rpc("eth_call", CALL_AT_BLOCK_1);
  assert.equal(lied.body.result, LIE, "the liar answered replica A");
  await honestAgain(net);
  // Replica A writes to Redis in order over one connection: once a block it proved after the lie is there, whatever
  // it kept of the lie would be too.
  assert.equal((await net.rpc("eth_getBlockByNumber", ["0x1", false])).headers.get("multihome-verified"), "proof");
  const shared = createRedisStore({ url: redis.url, keyPrefix: "kept:" });
  t.after(() => shared.close());
  await shared.waitConnected(5_000);
  await waitFor(async () => (await shared.getAnswer(net.chainId, 'eth_getBlockByNumber|["0x1",false]')) !== undefined, {
    timeoutMs: 5_000,
    what: "replica A's verified block to reach Redis",
  });
  assert.equal(await shared.getAnswer(net.chainId, CALL_KEY), undefined, "the lie was shared through Redis");
  const fromB = await rpcTo(other, net.chainId, "eth_call", CALL_AT_BLOCK_1);
  assert.equal(fromB.body.result, "0x", "replica B served replica A's liar");
});
