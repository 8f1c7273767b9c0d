/**
 * The SQLite store's outbox of signed EVM transactions (schema version 3): one row per (chain, hash). Each put commits
 * to the file, synced, before it resolves, and trims the table to its bound in the same transaction. Solana sends keep
 * the same rules in their own table (solana-sends.ts).
 */
import type { DatabaseSync } from "node:sqlite";
import {
  checkOutboxAddress,
  checkOutboxEntry,
  checkOutboxList,
  type OutboxEntry,
  type OutboxStatus,
} from "../../core/store.ts";
import { commitDurably, readOf, trimOutbox } from "./durable.ts";

/**
 * Version 3: signed transactions the gateway took responsibility for. `seq` is the order of writes (a final row is
 * never written again, so among final rows it is the order they became final, which is the eviction order).
 */
export const SCHEMA_OUTBOX = `
CREATE TABLE outbox (
  chain_id INTEGER NOT NULL,
  hash TEXT NOT NULL,
  raw TEXT NOT NULL,
  sender TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  status TEXT NOT NULL,
  first_seen_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  broadcasts INTEGER NOT NULL,
  last_broadcast_at REAL,
  block_number INTEGER,
  block_hash TEXT,
  replaced_by TEXT,
  last_error TEXT,
  seq INTEGER NOT NULL,
  PRIMARY KEY (chain_id, hash)
);
CREATE INDEX outbox_pending_by_chain ON outbox (chain_id, first_seen_at, hash) WHERE status = 'pending';
CREATE INDEX outbox_pending_by_age ON outbox (first_seen_at, hash, chain_id) WHERE status = 'pending';
CREATE INDEX outbox_final_by_seq ON outbox (seq) WHERE status <> 'pending';
`;

// A final row is frozen (the WHERE), and a pending row keeps its first first_seen_at (not in the SET).
const UPSERT_OUTBOX = `
INSERT INTO outbox (chain_id, hash, raw, sender, nonce, status, first_seen_at, updated_at, broadcasts,
  last_broadcast_at, block_number, block_hash, replaced_by, last_error, seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM outbox))
ON CONFLICT (chain_id, hash) DO UPDATE SET
  raw = excluded.raw, sender = excluded.sender, nonce = excluded.nonce, status = excluded.status,
  updated_at = excluded.updated_at, broadcasts = excluded.broadcasts, last_broadcast_at = excluded.last_broadcast_at,
  block_number = excluded.block_number, block_hash = excluded.block_hash, replaced_by = excluded.replaced_by,
  last_error = excluded.last_error, seq = excluded.seq
WHERE outbox.status = 'pending'`;

const OUTBOX_COLUMNS =
  "chain_id, hash, raw, sender, nonce, status, first_seen_at, updated_at, broadcasts, last_broadcast_at, " +
  "block_number, block_hash, replaced_by, last_error";

/** The outbox part of a SQLite store over `db` (migrated to version 3 or later); bad input throws before I/O. */
export function sqliteOutbox(db: DatabaseSync, path: string, maxEntries: number) {
  const statements = {
    upsertOutbox: db.prepare(UPSERT_OUTBOX),
    selectOutbox: db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE chain_id = ? AND hash = ?`),
    listPendingOutbox: db.prepare(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE chain_id = ? AND status = 'pending' ` +
        "ORDER BY first_seen_at, hash LIMIT ?",
    ),
    count: db.prepare("SELECT count(*) AS n FROM outbox"),
    evictOldestFinal: db.prepare(
      "DELETE FROM outbox WHERE rowid IN " +
        "(SELECT rowid FROM outbox WHERE status <> 'pending' ORDER BY seq LIMIT ?)",
    ),
    evictOldestPending: db.prepare(
      "DELETE FROM outbox WHERE rowid IN " +
        "(SELECT rowid FROM outbox WHERE status = 'pending' ORDER BY first_seen_at, hash, chain_id LIMIT ?)",
    ),
  };
  const read = readOf(path);
  return {
    /** Writes one entry in its own transaction, synced, then trims the table to its bound in the same one. */
    put(entry: OutboxEntry): void {
      const e = checkOutboxEntry(entry);
      commitDurably(db, path, () => {
        const { changes } = statements.upsertOutbox.run(
          e.chainId,
          e.hash,
          e.raw,
          e.from,
          e.nonce,
          e.status,
          e.firstSeenAt,
          e.updatedAt,
          e.broadcasts,
          e.lastBroadcastAt ?? null,
          e.blockNumber ?? null,
          e.blockHash ?? null,
          e.replacedBy ?? null,
          e.lastError ?? null,
        );
        if (Number(changes) !== 0) trimOutbox(maxEntries, statements);
      });
    },
    get(chainId: number, hash: string): OutboxEntry | undefined {
      const h = checkOutboxAddress(chainId, hash);
      const found = read(() => statements.selectOutbox.get(chainId, h) as OutboxRow | undefined);
      return found && fromOutboxRow(found);
    },
    listPending(chainId: number, limit: number): OutboxEntry[] {
      checkOutboxList(chainId, limit);
      return read(() => statements.listPendingOutbox.all(chainId, limit) as unknown as OutboxRow[]).map(fromOutboxRow);
    },
  };
}

interface OutboxRow {
  chain_id: number;
  hash: `0x${string}`;
  raw: `0x${string}`;
  sender: `0x${string}`;
  nonce: number;
  status: OutboxStatus;
  first_seen_at: number;
  updated_at: number;
  broadcasts: number;
  last_broadcast_at: number | null;
  block_number: number | null;
  block_hash: `0x${string}` | null;
  replaced_by: `0x${string}` | null;
  last_error: string | null;
}

function fromOutboxRow(row: OutboxRow): OutboxEntry {
  const entry: OutboxEntry = {
    chainId: row.chain_id,
    hash: row.hash,
    raw: row.raw,
    from: row.sender,
    nonce: row.nonce,
    status: row.status,
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
    broadcasts: row.broadcasts,
  };
  if (row.last_broadcast_at !== null) entry.lastBroadcastAt = row.last_broadcast_at;
  if (row.block_number !== null) entry.blockNumber = row.block_number;
  if (row.block_hash !== null) entry.blockHash = row.block_hash;
  if (row.replaced_by !== null) entry.replacedBy = row.replaced_by;
  if (row.last_error !== null) entry.lastError = row.last_error;
  return entry;
}
