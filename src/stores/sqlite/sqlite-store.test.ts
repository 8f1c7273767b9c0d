import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createFakeClock, type FakeClock } from "../../../test/harness/fake-clock.ts";
import type { Logger } from "../../core/ports.ts";
import { type Store, StoreError, type StoreLimits } from "../../core/store.ts";
import { describeSolanaSendContract, solanaSendFixture } from "../solana-send-contract.ts";
import {
  describeStoreContract,
  lastKnownGoodFixture,
  outboxFixture,
  type StoreContractSubject,
} from "../store-contract.ts";
import { SQLITE_SCHEMA_VERSION } from "./schema.ts";
import { openSqliteStore, SQLITE_FLUSH_INTERVAL_MS } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "multihome-sqlite-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let nextDir = 0;
const freshPath = () => join(root, `s${nextDir++}`, "nested", "state.db");

function recordingLogger(): Logger & { lines: { level: string; msg: string | undefined }[] } {
  const lines: { level: string; msg: string | undefined }[] = [];
  const logger = {
    lines,
    debug: (_: object, msg?: string) => lines.push({ level: "debug", msg }),
    info: (_: object, msg?: string) => lines.push({ level: "info", msg }),
    warn: (_: object, msg?: string) => lines.push({ level: "warn", msg }),
    error: (_: object, msg?: string) => lines.push({ level: "error", msg }),
    child: () => logger,
    isLevelEnabled: () => true,
  };
  return logger;
}

/** A second connection to the file, as another process (or an operator with sqlite3) would see it. */
function inspect<T>(path: string, read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
const rowCount = (path: string) =>
  inspect(path, (db) => Number((db.prepare("SELECT count(*) AS n FROM last_known_good").get() as { n: number }).n));

const opened = new Map<Store, { path: string; clock: FakeClock; limits: Partial<StoreLimits> | undefined }>();
async function openAt(path: string, limits?: Partial<StoreLimits>): Promise<Store> {
  const clock = createFakeClock();
  const store = await openSqliteStore({ path, clock, ...limits });
  opened.set(store, { path, clock, limits });
  return store;
}

const subject: StoreContractSubject = {
  open: (limits) => openAt(freshPath(), limits),
  settle: async (store) => opened.get(store)!.clock.advance(SQLITE_FLUSH_INTERVAL_MS),
  reopen: (closed) => {
    const { path, limits } = opened.get(closed)!;
    return openAt(path, limits);
  },
};
describeStoreContract("sqlite", subject);
describeSolanaSendContract("sqlite", subject);

test("sqlite store: creates its folder, uses WAL and records its schema version", async () => {
  const path = freshPath();
  const store = await openSqliteStore({ path, clock: createFakeClock() });
  await store.putLastKnownGood(lastKnownGoodFixture());
  await store.close();
  const { mode, version } = inspect(path, (db) => ({
    mode: (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
    version: (db.prepare("SELECT version FROM multihome_schema").all() as { version: number }[]).map((r) => r.version),
  }));
  assert.equal(mode, "wal");
  assert.deepEqual(version, [SQLITE_SCHEMA_VERSION]);
});

test("sqlite store: puts wait in memory until the flush interval, reads see them at once, the timer is cleared", async () => {
  const path = freshPath();
  const clock = createFakeClock();
  const store = await openSqliteStore({ path, clock, flushIntervalMs: 250 });
  assert.equal(clock.pending(), 0, "an idle store must not keep a timer");

  const entry = lastKnownGoodFixture();
  await store.putLastKnownGood(entry);
  await store.putLastKnownGood({ ...entry, key: "other" });
  assert.equal(clock.pending(), 1, "one timer for the whole batch");
  assert.equal(rowCount(path), 0, "the put reached the file before the interval");
  assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);

  clock.advance(249);
  assert.equal(rowCount(path), 0);
  clock.advance(1);
  assert.equal(rowCount(path), 2);
  assert.equal(clock.pending(), 0, "nothing buffered, so no timer");
  assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);

  await store.putLastKnownGood({ ...entry, blockNumber: 11 });
  assert.equal(clock.pending(), 1);
  await store.close();
  assert.equal(clock.pending(), 0, "close must clear the flush timer");
  assert.equal(
    inspect(
      path,
      (db) =>
        (
          db.prepare("SELECT block_number FROM last_known_good WHERE key = ?").get(entry.key) as {
            block_number: number;
          }
        ).block_number,
    ),
    11,
    "close wrote the buffer",
  );
});

test("sqlite store: maxEntries holds in the file after each flush", async () => {
  const path = freshPath();
  const clock = createFakeClock();
  const store = await openSqliteStore({ path, clock, maxEntries: 5 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 7; i++) await store.putLastKnownGood(lastKnownGoodFixture({ key: `r${round}k${i}` }));
    clock.advance(SQLITE_FLUSH_INTERVAL_MS);
    assert.equal(rowCount(path), 5);
  }
  assert.deepEqual(
    inspect(path, (db) =>
      (db.prepare("SELECT key FROM last_known_good ORDER BY seq").all() as { key: string }[]).map((r) => r.key),
    ),
    ["r2k2", "r2k3", "r2k4", "r2k5", "r2k6"],
  );
  await store.close();
});

test("sqlite store: a failed flush keeps the entries, says so once, and writes them when it can", async () => {
  const path = freshPath();
  const clock = createFakeClock();
  const logger = recordingLogger();
  const store = await openSqliteStore({ path, clock, logger });
  const entry = lastKnownGoodFixture();
  await store.putLastKnownGood(entry);

  // Another connection holding the write lock makes every write attempt fail at once (no busy wait).
  const blocker = new DatabaseSync(path);
  blocker.exec("BEGIN IMMEDIATE");
  clock.advance(SQLITE_FLUSH_INTERVAL_MS);
  clock.advance(SQLITE_FLUSH_INTERVAL_MS);
  assert.deepEqual(logger.lines, [{ level: "warn", msg: "store write failed; keeping entries in memory" }]);
  assert.equal(clock.pending(), 1, "the write is retried on the next interval");
  assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);

  blocker.exec("ROLLBACK");
  blocker.close();
  clock.advance(SQLITE_FLUSH_INTERVAL_MS);
  assert.equal(logger.lines.at(-1)?.msg, "store writes resumed");
  assert.equal(rowCount(path), 1);
  assert.equal(clock.pending(), 0);
  await store.close();
});

test("sqlite store: close rejects, naming the file, when its final write fails; it stays closed", async () => {
  const path = freshPath();
  const store = await openSqliteStore({ path, clock: createFakeClock() });
  await store.putLastKnownGood(lastKnownGoodFixture());
  const blocker = new DatabaseSync(path);
  blocker.exec("BEGIN IMMEDIATE");
  try {
    const failed = (e: unknown) => e instanceof StoreError && e.code === "write_failed" && e.message.includes(path);
    await assert.rejects(store.close(), failed);
    await assert.rejects(store.close(), failed);
    await assert.rejects(store.getLastKnownGood(31337, "k"), { name: "StoreError", message: /closed/ });
  } finally {
    blocker.exec("ROLLBACK");
    blocker.close();
  }
});

test("sqlite store: a corrupt file, a folder in its place, or a newer schema is refused at open, naming the path", async () => {
  const corrupt = freshPath();
  mkdirSync(join(corrupt, ".."), { recursive: true });
  writeFileSync(corrupt, "this is not a database\n".repeat(400));
  await assert.rejects(openSqliteStore({ path: corrupt, clock: createFakeClock() }), (e: unknown) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.code, "open_failed");
    assert.equal(
      e.message,
      `cannot open the Multihome store at ${corrupt}: file is not a database (if the file is damaged, move it aside: ` +
        "Multihome starts with an empty store and records last-known-good values again)",
    );
    return true;
  });

  const folder = freshPath();
  mkdirSync(folder, { recursive: true });
  await assert.rejects(openSqliteStore({ path: folder, clock: createFakeClock() }), {
    name: "StoreError",
    message: `cannot open the Multihome store at ${folder}: unable to open database file`,
  });

  const newer = freshPath();
  const first = await openSqliteStore({ path: newer, clock: createFakeClock() });
  await first.close();
  const db = new DatabaseSync(newer);
  db.exec("UPDATE multihome_schema SET version = 99");
  db.close();
  await assert.rejects(openSqliteStore({ path: newer, clock: createFakeClock() }), {
    name: "StoreError",
    message:
      `cannot open the Multihome store at ${newer}: it has schema version 99, written by a newer Multihome; ` +
      `this one reads version ${SQLITE_SCHEMA_VERSION}`,
  });
});

test("sqlite store: a version 1 file gains the answers and outbox tables; its values, of unknown age, go", async () => {
  const path = freshPath();
  mkdirSync(dirname(path), { recursive: true });
  const v1 = new DatabaseSync(path);
  v1.exec(`
    CREATE TABLE multihome_schema (version INTEGER NOT NULL);
    INSERT INTO multihome_schema (version) VALUES (1);
    CREATE TABLE last_known_good (
      chain_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, block_number INTEGER NOT NULL,
      block_hash TEXT NOT NULL, method TEXT NOT NULL, domains TEXT NOT NULL, recorded_at REAL NOT NULL,
      seq INTEGER NOT NULL, PRIMARY KEY (chain_id, key));
    CREATE INDEX last_known_good_by_seq ON last_known_good (seq);`);
  const entry = lastKnownGoodFixture();
  v1.prepare("INSERT INTO last_known_good VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)").run(
    entry.chainId,
    entry.key,
    JSON.stringify(entry.value),
    entry.blockNumber,
    entry.blockHash,
    entry.evidence.method,
    JSON.stringify(entry.evidence.domains),
    entry.recordedAt,
  );
  v1.close();
  const store = await openAt(path);
  // Recorded without its block's timestamp: its age cannot be told, so it is not kept.
  assert.equal(await store.getLastKnownGood(entry.chainId, entry.key), undefined);
  await store.putLastKnownGood(entry);
  assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);
  await store.putAnswer(1, "final", "42");
  await store.close();
  const version = inspect(path, (db) =>
    (db.prepare("SELECT version FROM multihome_schema").all() as { version: number }[]).map((r) => r.version),
  );
  assert.deepEqual(version, [SQLITE_SCHEMA_VERSION]);
  const again = await openAt(path);
  assert.equal(await again.getAnswer(1, "final"), "42");
  await again.putOutbox(outboxFixture(1));
  assert.deepEqual(await again.getOutbox(31337, outboxFixture(1).hash), outboxFixture(1));
  await again.close();
});

test("sqlite store: a version 2 file gains the outbox table and keeps its answers", async () => {
  const path = freshPath();
  const v2store = await openAt(path);
  const entry = lastKnownGoodFixture();
  await v2store.putLastKnownGood(entry);
  await v2store.putAnswer(1, "final", "42");
  await v2store.close();
  // What version 2 wrote: the same tables less the outbox, the block timestamp and Solana sends.
  const v2 = new DatabaseSync(path);
  v2.exec(
    "DROP TABLE outbox; DROP TABLE solana_sends; ALTER TABLE last_known_good DROP COLUMN block_timestamp; " +
      "UPDATE multihome_schema SET version = 2",
  );
  v2.close();

  const store = await openAt(path);
  assert.equal(await store.getLastKnownGood(entry.chainId, entry.key), undefined);
  assert.equal(await store.getAnswer(1, "final"), "42");
  const tx = outboxFixture(1);
  await store.putOutbox(tx);
  await store.close();
  const version = inspect(path, (db) =>
    (db.prepare("SELECT version FROM multihome_schema").all() as { version: number }[]).map((r) => r.version),
  );
  assert.deepEqual(version, [SQLITE_SCHEMA_VERSION]);
  const again = await openAt(path);
  assert.deepEqual(await again.getOutbox(tx.chainId, tx.hash), tx);
  assert.deepEqual(await again.listPendingOutbox(tx.chainId, 10), [tx]);
  await again.close();
});

test("sqlite store: a version 3 file drops the values it cannot age and keeps its answers and transactions", async () => {
  const path = freshPath();
  const v3store = await openAt(path);
  const entry = lastKnownGoodFixture();
  const tx = outboxFixture(1);
  await v3store.putLastKnownGood(entry);
  await v3store.putAnswer(1, "final", "42");
  await v3store.putOutbox(tx);
  await v3store.close();
  const v3 = new DatabaseSync(path);
  v3.exec(
    "DROP TABLE solana_sends; ALTER TABLE last_known_good DROP COLUMN block_timestamp; " +
      "UPDATE multihome_schema SET version = 3",
  );
  v3.close();

  const store = await openAt(path);
  assert.equal(await store.getLastKnownGood(entry.chainId, entry.key), undefined);
  assert.equal(rowCount(path), 0);
  assert.equal(await store.getAnswer(1, "final"), "42");
  assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx);
  await store.putLastKnownGood(entry);
  await store.close();
  const again = await openAt(path);
  assert.deepEqual(await again.getLastKnownGood(entry.chainId, entry.key), entry);
  await again.close();
});

test("sqlite store: a version 4 file gains the Solana sends table and keeps everything it held", async () => {
  const path = freshPath();
  const v4store = await openAt(path);
  const entry = lastKnownGoodFixture();
  const tx = outboxFixture(1);
  await v4store.putLastKnownGood(entry);
  await v4store.putAnswer(1, "final", "42");
  await v4store.putOutbox(tx);
  await v4store.close();
  // What version 4 wrote: every table but solana_sends.
  const v4 = new DatabaseSync(path);
  v4.exec("DROP TABLE solana_sends; UPDATE multihome_schema SET version = 4");
  v4.close();

  const store = await openAt(path);
  assert.deepEqual(await store.getLastKnownGood(entry.chainId, entry.key), entry);
  assert.equal(await store.getAnswer(1, "final"), "42");
  assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx);
  const send = solanaSendFixture(1);
  await store.putSolanaSend(send);
  await store.close();
  const version = inspect(path, (db) =>
    (db.prepare("SELECT version FROM multihome_schema").all() as { version: number }[]).map((r) => r.version),
  );
  assert.deepEqual(version, [SQLITE_SCHEMA_VERSION]);
  const again = await openAt(path);
  assert.deepEqual(await again.getSolanaSend(send.cluster, send.signature), send);
  assert.deepEqual(await again.listPendingSolanaSends(send.cluster, 10), [send]);
  await again.close();
});

test("sqlite store: a Solana send is in the file when it resolves, with no flush; a refused write records nothing", async () => {
  const path = freshPath();
  const clock = createFakeClock();
  const store = await openSqliteStore({ path, clock });
  const send = solanaSendFixture(3, { err: { InstructionError: [0, "InvalidArgument"] } });
  await store.putSolanaSend(send);
  assert.equal(clock.pending(), 0, "a Solana send never arms the flush timer");
  const rows = inspect(path, (db) =>
    db
      .prepare("SELECT cluster, signature, status, final, first_seen_at, record FROM solana_sends")
      .all()
      .map((r) => ({ ...r })),
  );
  assert.deepEqual(rows, [
    {
      cluster: send.cluster,
      signature: send.signature,
      status: "pending",
      final: 0,
      first_seen_at: send.firstSeenAt,
      record: JSON.stringify(send),
    },
  ]);

  const blocker = new DatabaseSync(path);
  blocker.exec("BEGIN IMMEDIATE");
  const other = solanaSendFixture(4);
  try {
    await assert.rejects(
      store.putSolanaSend(other),
      (e: unknown) => e instanceof StoreError && e.code === "write_failed" && e.message.includes(path),
    );
  } finally {
    blocker.exec("ROLLBACK");
    blocker.close();
  }
  assert.equal(await store.getSolanaSend(other.cluster, other.signature), undefined);
  await store.putSolanaSend(other);
  assert.deepEqual(await store.listPendingSolanaSends("devnet", 10), [send, other]);
  await store.close();
});

test("sqlite store: an outbox put is in the file when it resolves, with no flush (it survives kill -9)", async () => {
  const path = freshPath();
  const tx = outboxFixture(7, { lastError: "first round failed" });
  // A separate process that records the transaction, says so, and then waits to be killed: nothing after the put
  // (no timer, no close) gets a chance to write.
  const script = join(dirname(path), "record.mjs");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    script,
    [
      `import { openSqliteStore } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, "sqlite-store.ts")).href)};`,
      "const clock = { now: () => Date.now(), setTimer: () => () => {} };",
      `const store = await openSqliteStore({ path: ${JSON.stringify(path)}, clock });`,
      `await store.putOutbox(${JSON.stringify(tx)});`,
      'process.stdout.write("recorded\\n");',
      "setInterval(() => {}, 60_000);",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("the child did not record the transaction in 10 s")), 10_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("recorded")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the child exited with ${code} before recording`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  }
  assert.equal(child.signalCode, "SIGKILL");
  const store = await openAt(path);
  assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx);
  assert.deepEqual(await store.listPendingOutbox(tx.chainId, 10), [tx]);
  await store.close();
});

test("sqlite store: an outbox put the file refuses rejects with write_failed, naming the file, and records nothing", async () => {
  const path = freshPath();
  const clock = createFakeClock();
  const store = await openSqliteStore({ path, clock });
  const blocker = new DatabaseSync(path);
  blocker.exec("BEGIN IMMEDIATE");
  const tx = outboxFixture(1);
  try {
    await assert.rejects(
      store.putOutbox(tx),
      (e: unknown) => e instanceof StoreError && e.code === "write_failed" && e.message.includes(path),
    );
  } finally {
    blocker.exec("ROLLBACK");
    blocker.close();
  }
  assert.equal(await store.getOutbox(tx.chainId, tx.hash), undefined);
  assert.equal(clock.pending(), 0, "an outbox put never arms the flush timer");
  await store.putOutbox(tx);
  assert.deepEqual(await store.getOutbox(tx.chainId, tx.hash), tx);
  const synchronous = inspect(path, (db) => db.prepare("SELECT count(*) AS n FROM outbox").get() as { n: number });
  assert.equal(synchronous.n, 1);
  await store.close();
});

test("sqlite store: nonsensical options are refused", async () => {
  await assert.rejects(
    openSqliteStore({ path: freshPath(), clock: createFakeClock(), flushIntervalMs: 0 }),
    RangeError,
  );
  await assert.rejects(openSqliteStore({ path: freshPath(), clock: createFakeClock(), maxEntries: -1 }), RangeError);
});
