/** How the SQLite store's parts write what must survive a crash, keep an outbox table to its bound, and name a failed read. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StoreError } from "../../core/store.ts";

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Commits what `write` does in one transaction, synced to disk before it returns (FULL for this commit only: the
 * buffered last-known-good writes stay at NORMAL). A failure rolls back and is a `StoreError` "write_failed" naming
 * the file.
 */
export function commitDurably(db: DatabaseSync, path: string, write: () => void): void {
  try {
    db.exec("PRAGMA synchronous = FULL");
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        write();
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    } finally {
      db.exec("PRAGMA synchronous = NORMAL");
    }
  } catch (cause) {
    throw new StoreError("write_failed", `cannot write the Multihome store at ${path}: ${messageOf(cause)}`, {
      cause,
    });
  }
}

/** Runs a read of the file at `path`; a failure is a `StoreError` "read_failed" naming the file. */
export function readOf(path: string): <T>(query: () => T) => T {
  return (query) => {
    try {
      return query();
    } catch (cause) {
      throw new StoreError("read_failed", `cannot read the Multihome store at ${path}: ${messageOf(cause)}`, { cause });
    }
  };
}

/**
 * An outbox table (EVM transactions, Solana sends) back within `bound` rows after a put, inside the put's transaction:
 * the records that became final longest ago go first, pending ones (oldest first) only when every record is pending.
 */
export function trimOutbox(
  bound: number,
  statements: { count: StatementSync; evictOldestFinal: StatementSync; evictOldestPending: StatementSync },
): void {
  let over = Number((statements.count.get() as { n: number }).n) - bound;
  if (over > 0) over -= Number(statements.evictOldestFinal.run(over).changes);
  if (over > 0) statements.evictOldestPending.run(over);
}
