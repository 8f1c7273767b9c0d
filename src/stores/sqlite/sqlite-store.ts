/**
 * The embedded durable store: one SQLite file through `node:sqlite` (no native addon). node:sqlite is synchronous and
 * puts happen on the request path, so puts only touch memory; one transaction writes them every `flushIntervalMs`, and
 * reads look at that buffer before the file. A crash loses at most one interval of last-known-good values: they are a
 * cache of verified facts, and the next verified read records them again. Outbox transactions are the exception: a
 * signed transaction cannot be recorded again, so each put commits to the file (synced) before it resolves; Solana
 * sends too (their table and statements are in `solana-sends.ts`).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Clock, Logger } from "../../core/ports.ts";
import {
  answerCost,
  checkAnswer,
  checkCounter,
  checkLastKnownGoodAddress,
  createCordonBook,
  createLocalCounters,
  fromHeld,
  type HeldLastKnownGood,
  holdNewest,
  type LastKnownGood,
  lastKnownGoodId,
  resolveStoreLimits,
  type Store,
  StoreError,
  type Verification,
} from "../../core/store.ts";
import { messageOf, readOf } from "./durable.ts";
import { sqliteOutbox } from "./outbox.ts";
import { migrate } from "./schema.ts";
import { sqliteSolanaSends } from "./solana-sends.ts";

/** How long accepted puts wait in memory before they are written, ms. */
export const SQLITE_FLUSH_INTERVAL_MS = 1_000;

export interface SqliteStoreOptions {
  /** The database file. Its folder is created when missing. */
  path: string;
  /** Most last-known-good entries kept; enforced when buffered puts are written. @default 100_000 */
  maxEntries?: number;
  /** Most bytes of shared answers kept in the file (keys and JSON); enforced when buffered puts are written. @default 64 MiB */
  maxAnswerBytes?: number;
  /** Most outbox transactions kept in the file (see the Store port for which go first). @default 10_000 */
  maxOutboxEntries?: number;
  /** How long accepted puts wait in memory before one transaction writes them, ms. @default 1_000 */
  flushIntervalMs?: number;
  /** Schedules the writes. */
  clock: Clock;
  /** Told when a background write fails and when writes work again. */
  logger?: Logger;
}

/** A put waiting to be written; the value is JSON text already. */
type Buffered = HeldLastKnownGood;

// The WHERE keeps a row at a higher block; seq orders rows by when they were last recorded, for eviction.
const UPSERT = `
INSERT INTO last_known_good (chain_id, key, value, block_number, block_hash, block_timestamp, method, domains,
  recorded_at, seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (chain_id, key) DO UPDATE SET
  value = excluded.value, block_number = excluded.block_number, block_hash = excluded.block_hash,
  block_timestamp = excluded.block_timestamp, method = excluded.method, domains = excluded.domains,
  recorded_at = excluded.recorded_at, seq = excluded.seq
WHERE excluded.block_number >= last_known_good.block_number`;

/**
 * Opens (creating when missing) the store at `options.path`. Rejects with a `StoreError` naming the path when the file
 * cannot be opened, is not a SQLite database, or was written by a newer schema — at startup, not at the first request.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const { path, clock, logger } = options;
  const flushIntervalMs = options.flushIntervalMs ?? SQLITE_FLUSH_INTERVAL_MS;
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs <= 0) {
    throw new RangeError(`store flushIntervalMs must be a positive number of ms, got ${String(flushIntervalMs)}`);
  }
  const { maxEntries, maxAnswerBytes, maxOutboxEntries } = resolveStoreLimits({
    maxEntries: options.maxEntries,
    maxAnswerBytes: options.maxAnswerBytes,
    maxOutboxEntries: options.maxOutboxEntries,
  });

  let db: DatabaseSync;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path);
  } catch (cause) {
    throw new StoreError("open_failed", `cannot open the Multihome store at ${path}: ${messageOf(cause)}`, { cause });
  }
  let statements: ReturnType<typeof prepare>;
  let outbox: ReturnType<typeof sqliteOutbox>;
  let solanaSends: ReturnType<typeof sqliteSolanaSends>;
  /** Bytes of answers in the file (kept in step with every write, so the bound is checked without a scan). */
  let answerBytes: number;
  try {
    migrate(db, path);
    statements = prepare(db);
    outbox = sqliteOutbox(db, path, maxOutboxEntries);
    // Bounded apart from the EVM outbox, by the same maxOutboxEntries.
    solanaSends = sqliteSolanaSends(db, path, maxOutboxEntries);
    answerBytes = Number((statements.answerBytes.get() as { bytes: number }).bytes);
  } catch (cause) {
    db.close();
    if (cause instanceof StoreError) throw cause;
    throw new StoreError(
      "open_failed",
      `cannot open the Multihome store at ${path}: ${messageOf(cause)} (if the file is damaged, move it aside: ` +
        `Multihome starts with an empty store and records last-known-good values again)`,
      { cause },
    );
  }

  // Insertion order is recording order: a put that is kept is re-inserted, so the first key is the oldest.
  const buffer = new Map<string, Buffered>();
  // Answers waiting to be written, by "chainId:key"; bounded like the file (the oldest pending go first).
  const pendingAnswers = new Map<string, { chainId: number; key: string; json: string }>();
  let pendingAnswerBytes = 0;
  let cancelFlush: (() => void) | undefined;
  let failing = false;
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = () => {
    if (closed) throw new StoreError("closed", `the Multihome store at ${path} is closed`);
  };

  /** Writes the buffer in one transaction, then trims the table to `maxEntries`. Keeps the buffer when it fails. */
  const flush = () => {
    if (buffer.size === 0 && pendingAnswers.size === 0) return;
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        // Sequence numbers continue from the file, so the order survives restarts.
        let seq = Number((statements.maxSeq.get() as { seq: number }).seq);
        for (const b of buffer.values()) {
          seq += 1;
          const { method, domains } = b.evidence;
          statements.upsert.run(
            b.chainId,
            b.key,
            b.valueJson,
            b.blockNumber,
            b.blockHash,
            b.blockTimestamp,
            method,
            JSON.stringify(domains),
            b.recordedAt,
            seq,
          );
        }
        const rows = Number((statements.count.get() as { n: number }).n);
        if (rows > maxEntries) statements.evictOldest.run(rows - maxEntries);
        let bytes = answerBytes;
        for (const a of pendingAnswers.values()) {
          // A put replaces the key's answer (and makes it the most recently kept).
          const replaced = statements.deleteAnswer.get(a.chainId, a.key) as { bytes: number } | undefined;
          if (replaced) bytes -= replaced.bytes;
          statements.insertAnswer.run(a.chainId, a.key, a.json, answerCost(a.key, a.json));
          bytes += answerCost(a.key, a.json);
        }
        while (bytes > maxAnswerBytes) {
          const oldest = statements.evictOldestAnswer.get() as { bytes: number } | undefined;
          if (!oldest) break;
          bytes -= oldest.bytes;
        }
        db.exec("COMMIT");
        answerBytes = bytes;
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    } catch (cause) {
      throw new StoreError("write_failed", `cannot write the Multihome store at ${path}: ${messageOf(cause)}`, {
        cause,
      });
    }
    buffer.clear();
    pendingAnswers.clear();
    pendingAnswerBytes = 0;
  };

  const onFlushTimer = () => {
    cancelFlush = undefined;
    try {
      flush();
      if (failing) logger?.info({ path }, "store writes resumed");
      failing = false;
    } catch (error) {
      // Serving never depends on the store: keep the (bounded) buffer, say so once, and try again next interval.
      if (!failing) logger?.warn({ path, err: messageOf(error) }, "store write failed; keeping entries in memory");
      failing = true;
      armFlush();
    }
  };

  const armFlush = () => {
    if (!cancelFlush && !closed) cancelFlush = clock.setTimer(flushIntervalMs, onFlushTimer);
  };

  const read = readOf(path);

  // Cordons and counters only matter to replicas sharing a store; one process keeps its own in memory (cordons last
  // minutes, counter windows less).
  const cordons = createCordonBook();
  const counters = createLocalCounters();

  return {
    async putAnswer(chainId, key, json) {
      ensureOpen();
      const id = checkAnswer(chainId, key, json);
      const earlier = pendingAnswers.get(id);
      if (earlier) {
        pendingAnswers.delete(id);
        pendingAnswerBytes -= answerCost(earlier.key, earlier.json);
      }
      pendingAnswers.set(id, { chainId, key, json });
      pendingAnswerBytes += answerCost(key, json);
      while (pendingAnswerBytes > maxAnswerBytes) {
        const [oldId, old] = pendingAnswers.entries().next().value!;
        pendingAnswers.delete(oldId);
        pendingAnswerBytes -= answerCost(old.key, old.json);
      }
      armFlush();
    },
    async getAnswer(chainId, key) {
      ensureOpen();
      const pending = pendingAnswers.get(checkAnswer(chainId, key));
      if (pending) return pending.json;
      return read(() => (statements.selectAnswer.get(chainId, key) as { json: string } | undefined)?.json);
    },
    async addToCounter(name, amount, windowMs, now) {
      ensureOpen();
      return counters.add(checkCounter(name, amount, windowMs, now), amount);
    },
    async putCordon(cordon) {
      ensureOpen();
      cordons.put(cordon);
    },
    async getCordons(chainId, now) {
      ensureOpen();
      return cordons.get(chainId, now);
    },
    async putOutbox(entry) {
      ensureOpen();
      outbox.put(entry);
    },
    async getOutbox(chainId, hash) {
      ensureOpen();
      return outbox.get(chainId, hash);
    },
    async listPendingOutbox(chainId, limit) {
      ensureOpen();
      return outbox.listPending(chainId, limit);
    },
    async putSolanaSend(record) {
      ensureOpen();
      solanaSends.put(record);
    },
    async getSolanaSend(cluster, signature) {
      ensureOpen();
      return solanaSends.get(cluster, signature);
    },
    async listPendingSolanaSends(cluster, limit) {
      ensureOpen();
      return solanaSends.listPending(cluster, limit);
    },
    async putLastKnownGood(entry) {
      ensureOpen();
      // Against the file the flush decides (its upsert keeps a higher block); against the buffer, decide now. More
      // than maxEntries pending puts: the oldest would be evicted by the flush anyway.
      if (holdNewest(buffer, entry, maxEntries)) armFlush();
    },

    async getLastKnownGood(chainId, key) {
      ensureOpen();
      checkLastKnownGoodAddress(chainId, key);
      const pending = buffer.get(lastKnownGoodId(chainId, key));
      const stored = read(() => {
        const row = statements.select.get(chainId, key) as Row | undefined;
        return row && fromRow(row);
      });
      if (pending && (!stored || pending.blockNumber >= stored.blockNumber)) return fromHeld(pending);
      return stored;
    },

    close() {
      closing ??= (async () => {
        closed = true;
        cancelFlush?.();
        cancelFlush = undefined;
        try {
          flush();
        } finally {
          buffer.clear();
          pendingAnswers.clear();
          counters.clear();
          db.close();
        }
      })();
      return closing;
    },
  };
}

interface Row {
  chain_id: number;
  key: string;
  value: string;
  block_number: number;
  block_hash: `0x${string}`;
  block_timestamp: number;
  method: Verification;
  domains: string;
  recorded_at: number;
}

function fromRow(row: Row): LastKnownGood {
  return {
    chainId: row.chain_id,
    key: row.key,
    value: JSON.parse(row.value),
    blockNumber: row.block_number,
    blockHash: row.block_hash,
    blockTimestamp: row.block_timestamp,
    evidence: { method: row.method, domains: JSON.parse(row.domains) as string[] },
    recordedAt: row.recorded_at,
  };
}

type Statement =
  | "upsert"
  | "select"
  | "maxSeq"
  | "count"
  | "evictOldest"
  | "insertAnswer"
  | "deleteAnswer"
  | "selectAnswer"
  | "answerBytes"
  | "evictOldestAnswer";

function prepare(db: DatabaseSync): Record<Statement, StatementSync> {
  return {
    insertAnswer: db.prepare("INSERT INTO answers (chain_id, key, json, bytes) VALUES (?, ?, ?, ?)"),
    deleteAnswer: db.prepare("DELETE FROM answers WHERE chain_id = ? AND key = ? RETURNING bytes"),
    selectAnswer: db.prepare("SELECT json FROM answers WHERE chain_id = ? AND key = ?"),
    answerBytes: db.prepare("SELECT coalesce(sum(bytes), 0) AS bytes FROM answers"),
    evictOldestAnswer: db.prepare("DELETE FROM answers WHERE seq = (SELECT min(seq) FROM answers) RETURNING bytes"),
    upsert: db.prepare(UPSERT),
    select: db.prepare(
      "SELECT chain_id, key, value, block_number, block_hash, block_timestamp, method, domains, recorded_at " +
        "FROM last_known_good " +
        "WHERE chain_id = ? AND key = ?",
    ),
    maxSeq: db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM last_known_good"),
    count: db.prepare("SELECT count(*) AS n FROM last_known_good"),
    evictOldest: db.prepare(
      "DELETE FROM last_known_good WHERE seq IN (SELECT seq FROM last_known_good ORDER BY seq LIMIT ?)",
    ),
  };
}
