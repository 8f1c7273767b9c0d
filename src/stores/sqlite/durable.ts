/** How the SQLite store's parts write what must survive a crash, and name a failed read: one place for both. */
import type { DatabaseSync } from "node:sqlite";
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
