/**
 * The SQLite store's Solana sends (schema version 5): one row per (cluster, signature), the record as JSON beside the
 * columns its indexes need. Like the EVM outbox, each put commits to the file, synced, before it resolves, and trims
 * the table to its own bound in the same transaction.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  checkSolanaSend,
  checkSolanaSendAddress,
  checkSolanaSendList,
  isFinalSolanaSend,
  type SolanaSendRecord,
} from "../../core/solana/send-record.ts";
import { commitDurably, readOf, trimOutbox } from "./durable.ts";

/**
 * Version 5: Solana transactions the gateway took responsibility for. `record` is the JSON of what `checkSolanaSend`
 * kept; `first_seen_at` the first one recorded (it overrides the JSON's, which a later put rewrites); `final` is 1
 * once the status is final (the row is then frozen); `seq` the order of writes (among final rows the order they became
 * final, which is the eviction order).
 */
export const SCHEMA_SOLANA_SENDS = `
CREATE TABLE solana_sends (
  cluster TEXT NOT NULL,
  signature TEXT NOT NULL,
  status TEXT NOT NULL,
  final INTEGER NOT NULL,
  first_seen_at REAL NOT NULL,
  record TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (cluster, signature)
);
CREATE INDEX solana_sends_pending_by_cluster ON solana_sends (cluster, first_seen_at, signature) WHERE final = 0;
CREATE INDEX solana_sends_pending_by_age ON solana_sends (first_seen_at, signature, cluster) WHERE final = 0;
CREATE INDEX solana_sends_by_seq ON solana_sends (seq);
`;

// A final row is frozen (the WHERE), and a pending row keeps its first first_seen_at (not in the SET).
const UPSERT = `
INSERT INTO solana_sends (cluster, signature, status, final, first_seen_at, record, seq)
VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM solana_sends))
ON CONFLICT (cluster, signature) DO UPDATE SET
  status = excluded.status, final = excluded.final, record = excluded.record, seq = excluded.seq
WHERE solana_sends.final = 0`;

interface Row {
  first_seen_at: number;
  record: string;
}

/** The Solana-send part of a SQLite store over `db` (migrated to version 5 already); bad input throws before I/O. */
export function sqliteSolanaSends(db: DatabaseSync, path: string, maxEntries: number) {
  const statements = prepare(db);
  const read = readOf(path);
  return {
    put(record: SolanaSendRecord): void {
      const r = checkSolanaSend(record);
      const final = isFinalSolanaSend(r.status) ? 1 : 0;
      commitDurably(db, path, () => {
        const { changes } = statements.upsert.run(
          r.cluster,
          r.signature,
          r.status,
          final,
          r.firstSeenAt,
          JSON.stringify(r),
        );
        if (Number(changes) !== 0) trimOutbox(maxEntries, statements);
      });
    },
    get(cluster: string, signature: string): SolanaSendRecord | undefined {
      checkSolanaSendAddress(cluster, signature);
      const row = read(() => statements.select.get(cluster, signature) as Row | undefined);
      return row && fromRow(row);
    },
    listPending(cluster: string, limit: number): SolanaSendRecord[] {
      checkSolanaSendList(cluster, limit);
      return read(() => statements.listPending.all(cluster, limit) as unknown as Row[]).map(fromRow);
    },
  };
}

function fromRow(row: Row): SolanaSendRecord {
  const record = JSON.parse(row.record) as SolanaSendRecord;
  record.firstSeenAt = row.first_seen_at;
  return record;
}

function prepare(
  db: DatabaseSync,
): Record<"upsert" | "select" | "listPending" | "count" | "evictOldestFinal" | "evictOldestPending", StatementSync> {
  return {
    upsert: db.prepare(UPSERT),
    select: db.prepare("SELECT first_seen_at, record FROM solana_sends WHERE cluster = ? AND signature = ?"),
    listPending: db.prepare(
      "SELECT first_seen_at, record FROM solana_sends WHERE cluster = ? AND final = 0 " +
        "ORDER BY first_seen_at, signature LIMIT ?",
    ),
    count: db.prepare("SELECT count(*) AS n FROM solana_sends"),
    evictOldestFinal: db.prepare(
      "DELETE FROM solana_sends WHERE rowid IN (SELECT rowid FROM solana_sends WHERE final = 1 ORDER BY seq LIMIT ?)",
    ),
    evictOldestPending: db.prepare(
      "DELETE FROM solana_sends WHERE rowid IN " +
        "(SELECT rowid FROM solana_sends WHERE final = 0 ORDER BY first_seen_at, signature, cluster LIMIT ?)",
    ),
  };
}
