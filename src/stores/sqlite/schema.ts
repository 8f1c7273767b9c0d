/**
 * The SQLite store's schema and its migrations: a new file gets every table at once, an older one the tables and
 * changes of the versions after its own, in one transaction; a file of a newer version is refused.
 */
import type { DatabaseSync } from "node:sqlite";
import { StoreError } from "../../core/store.ts";
import { SCHEMA_OUTBOX } from "./outbox.ts";
import { SCHEMA_SOLANA_SENDS } from "./solana-sends.ts";

/** The schema this build reads and writes; a file with a higher version was written by a newer Multihome. */
export const SQLITE_SCHEMA_VERSION = 5;

const SCHEMA = `
CREATE TABLE last_known_good (
  chain_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  method TEXT NOT NULL,
  domains TEXT NOT NULL,
  recorded_at REAL NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (chain_id, key)
);
CREATE INDEX last_known_good_by_seq ON last_known_good (seq);
`;

/** Version 2: verified answers about final data, so a restart does not ask upstreams for them again. */
const SCHEMA_ANSWERS = `
CREATE TABLE answers (
  chain_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  json TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  UNIQUE (chain_id, key)
);
`;

/**
 * Version 4: the timestamp of the block a last-known-good value reflects, which its age is measured from. Values an
 * older version kept have none, and an age from when they were recorded could call a years-old balance seconds old:
 * they are dropped (the next verified read at the head records them again).
 */
const SCHEMA_BLOCK_TIME = `
ALTER TABLE last_known_good ADD COLUMN block_timestamp INTEGER;
DELETE FROM last_known_good WHERE block_timestamp IS NULL;
`;

/**
 * WAL so readers never wait for the flush; a version table so a future schema change is recognised, not guessed. Brings
 * `db` to SQLITE_SCHEMA_VERSION; a `StoreError` for a file of a newer version.
 */
export function migrate(db: DatabaseSync, path: string): void {
  db.exec("PRAGMA journal_mode = WAL");
  // In WAL mode NORMAL survives a process crash; a power cut may lose the last flushes, which a cache can afford.
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS multihome_schema (version INTEGER NOT NULL)");
    const { version } = db.prepare("SELECT max(version) AS version FROM multihome_schema").get() as {
      version: number | null;
    };
    if (version === null) {
      db.exec(SCHEMA);
      db.exec(SCHEMA_ANSWERS);
      db.exec(SCHEMA_OUTBOX);
      db.exec(SCHEMA_BLOCK_TIME);
      db.exec(SCHEMA_SOLANA_SENDS);
      db.prepare("INSERT INTO multihome_schema (version) VALUES (?)").run(SQLITE_SCHEMA_VERSION);
    } else if (version < SQLITE_SCHEMA_VERSION) {
      // Versions 2, 3 and 5 only added tables; version 4 drops last-known-good values that cannot say their age.
      if (version < 2) db.exec(SCHEMA_ANSWERS);
      if (version < 3) db.exec(SCHEMA_OUTBOX);
      if (version < 4) db.exec(SCHEMA_BLOCK_TIME);
      if (version < 5) db.exec(SCHEMA_SOLANA_SENDS);
      db.prepare("UPDATE multihome_schema SET version = ?").run(SQLITE_SCHEMA_VERSION);
    } else if (version > SQLITE_SCHEMA_VERSION) {
      throw new StoreError(
        "open_failed",
        `cannot open the Multihome store at ${path}: it has schema version ${version}, written by a newer Multihome; ` +
          `this one reads version ${SQLITE_SCHEMA_VERSION}`,
      );
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
