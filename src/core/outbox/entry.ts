/**
 * A signed EVM transaction as the outbox keeps it in the store: its fields, bounds, and the one validation and order
 * every store shares (the Store port in core/store.ts). No I/O here. Solana's counterpart is core/solana/send-record.ts.
 */
import { ADDRESS_HEX, HASH_HEX } from "../hex.ts";
import { checkBookkeeping, isCount, type SendBookkeeping } from "./bookkeeping.ts";

/**
 * Where a signed transaction stands. `pending`: broadcast (or about to be) and not yet seen in a block. The others are
 * final: `included` (mined), `replaced` (another transaction of the same sender and nonce was mined), `expired`
 * (given up on).
 */
export type OutboxStatus = "pending" | "included" | "replaced" | "expired";

/** A signed transaction the gateway took responsibility for: recorded before its first broadcast, tracked until final. */
export interface OutboxEntry extends SendBookkeeping {
  chainId: number;
  /** 0x and 64 hex digits (kept lower-case). */
  hash: `0x${string}`;
  /** The signed transaction, 0x hex (kept lower-case), at most `OUTBOX_MAX_RAW_HEX_CHARS` characters. */
  raw: `0x${string}`;
  /** The sender, 0x and 40 hex digits (kept lower-case). */
  from: `0x${string}`;
  /** Safe integer ≥ 0. */
  nonce: number;
  status: OutboxStatus;
  /** Set when included: where. */
  blockNumber?: number;
  blockHash?: `0x${string}`;
  /** For `replaced`: the hash mined at that nonce instead, when known. */
  replacedBy?: `0x${string}`;
  /** Why the last broadcast round failed, if it did (cut at `OUTBOX_MAX_ERROR_CHARS`). */
  lastError?: string;
}

/** Longest signed transaction kept, characters of 0x hex (128 KiB of bytes, the gateway's own bound on a raw tx). */
export const OUTBOX_MAX_RAW_HEX_CHARS = 2 + 2 * 131_072;
/** Longest `lastError` kept, characters (longer is cut). */
export const OUTBOX_MAX_ERROR_CHARS = 512;

const OUTBOX_STATUSES: ReadonlySet<string> = new Set<OutboxStatus>(["pending", "included", "replaced", "expired"]);
/** The statuses an entry is never changed from (every one but `pending`). */
export const OUTBOX_FINAL_STATUSES: readonly OutboxStatus[] = ["included", "replaced", "expired"];
const TX_HASH = HASH_HEX;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})+$/;

/** Whether a status is final: an entry holding one is never changed again. */
export function isFinalOutboxStatus(status: OutboxStatus): boolean {
  return status !== "pending";
}

/** The text that identifies (chainId, hash) inside one store. */
export function outboxId(chainId: number, hash: string): string {
  return `${chainId}:${hash}`;
}

/** Checks the arguments of a read; returns the hash lower-cased (as stores keep it). */
export function checkOutboxAddress(chainId: unknown, hash: unknown): `0x${string}` {
  if (!Number.isSafeInteger(chainId) || (chainId as number) < 0) {
    throw new TypeError(`outbox chainId must be a non-negative integer, got ${String(chainId)}`);
  }
  if (typeof hash !== "string" || !TX_HASH.test(hash)) {
    throw new TypeError(`outbox hash must be 0x and 64 hex digits, got ${String(hash).slice(0, 80)}`);
  }
  return hash.toLowerCase() as `0x${string}`;
}

/** Checks the arguments of `listPendingOutbox`. */
export function checkOutboxList(chainId: unknown, limit: unknown): void {
  if (!Number.isSafeInteger(chainId) || (chainId as number) < 0) {
    throw new TypeError(`outbox chainId must be a non-negative integer, got ${String(chainId)}`);
  }
  if (!Number.isSafeInteger(limit) || (limit as number) < 0) {
    throw new RangeError(`outbox limit must be a non-negative integer, got ${String(limit)}`);
  }
}

/**
 * Validates an outbox entry and returns the form every store keeps: a fresh object with only the fields above (absent
 * optional fields left out), hex lower-cased, `lastError` cut to its bound. A `RangeError` for a raw transaction
 * beyond `OUTBOX_MAX_RAW_HEX_CHARS`, a `TypeError` for anything malformed.
 */
export function checkOutboxEntry(entry: OutboxEntry): OutboxEntry {
  if (typeof entry !== "object" || entry === null) throw new TypeError("outbox entry must be an object");
  const hash = checkOutboxAddress(entry.chainId, entry.hash);
  const { raw } = entry;
  if (typeof raw !== "string") throw new TypeError("outbox raw must be 0x hex");
  // The length first, so an oversize string is refused without scanning it.
  if (raw.length > OUTBOX_MAX_RAW_HEX_CHARS) {
    throw new RangeError(`outbox raw is ${raw.length} characters, at most ${OUTBOX_MAX_RAW_HEX_CHARS}`);
  }
  if (!HEX_BYTES.test(raw)) throw new TypeError("outbox raw must be 0x and an even number of hex digits");
  if (typeof entry.from !== "string" || !ADDRESS_HEX.test(entry.from)) {
    throw new TypeError(`outbox from must be 0x and 40 hex digits, got ${String(entry.from).slice(0, 80)}`);
  }
  if (!isCount(entry.nonce)) throw new TypeError(`outbox nonce must be a non-negative integer, got ${entry.nonce}`);
  if (!OUTBOX_STATUSES.has(entry.status)) {
    throw new TypeError(`outbox status must be pending, included, replaced or expired, got ${String(entry.status)}`);
  }
  const kept: OutboxEntry = {
    chainId: entry.chainId,
    hash,
    raw: raw.toLowerCase() as `0x${string}`,
    from: entry.from.toLowerCase() as `0x${string}`,
    nonce: entry.nonce,
    status: entry.status,
    ...checkBookkeeping(entry, "outbox"),
  };
  if (entry.blockNumber !== undefined) {
    if (!isCount(entry.blockNumber)) throw new TypeError("outbox blockNumber must be a non-negative integer");
    kept.blockNumber = entry.blockNumber;
  }
  if (entry.blockHash !== undefined) {
    if (typeof entry.blockHash !== "string" || !HASH_HEX.test(entry.blockHash)) {
      throw new TypeError("outbox blockHash must be 0x and 64 hex digits");
    }
    kept.blockHash = entry.blockHash.toLowerCase() as `0x${string}`;
  }
  if (entry.replacedBy !== undefined) {
    if (typeof entry.replacedBy !== "string" || !TX_HASH.test(entry.replacedBy)) {
      throw new TypeError("outbox replacedBy must be 0x and 64 hex digits");
    }
    kept.replacedBy = entry.replacedBy.toLowerCase() as `0x${string}`;
  }
  // A reason is only for people: never refuse a transaction over it.
  if (entry.lastError !== undefined) kept.lastError = String(entry.lastError).slice(0, OUTBOX_MAX_ERROR_CHARS);
  return kept;
}

/** Oldest `firstSeenAt` first, ties by hash then chain: the one order every store lists and evicts pending entries in. */
export function comparePendingOutbox(a: OutboxEntry, b: OutboxEntry): number {
  if (a.firstSeenAt !== b.firstSeenAt) return a.firstSeenAt - b.firstSeenAt;
  if (a.hash !== b.hash) return a.hash < b.hash ? -1 : 1;
  return a.chainId - b.chainId;
}
