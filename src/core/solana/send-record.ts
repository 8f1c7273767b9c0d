/**
 * A Solana transaction as the outbox keeps it in the store: recorded before its first broadcast, so a restart (or a
 * worker's death) does not lose it. Types, bounds and the one validation every store shares; no I/O here. The rules
 * are the EVM outbox's (core/store.ts): a final record is frozen, a record keeps its first `firstSeenAt`, pending
 * records are listed oldest first, and beyond the bound the records that became final longest ago go first.
 */
import { checkBookkeeping, isCount, type SendBookkeeping } from "../outbox/bookkeeping.ts";
import { SOLANA_MAX_TRANSACTION_BYTES } from "./transaction.ts";

/**
 * `pending`: not seen on chain yet; `processed`/`confirmed`/`finalized`: seen at that commitment; `expired`: its
 * blockhash expired unseen (agreed by independent domains) or `transactions.expiryMs` passed; `rejected`: independent
 * domains refused it (a failed preflight), never sent again.
 */
export type SolanaSendStatus = "pending" | "processed" | "confirmed" | "finalized" | "expired" | "rejected";

export interface SolanaSendRecord extends SendBookkeeping {
  /** The cluster's configured name (`/rpc/solana/{name}`). */
  cluster: string;
  /** The transaction's first signature, base58: its id. */
  signature: string;
  /** The transaction as the client sent it, in `encoding`. */
  encoded: string;
  encoding: "base58" | "base64";
  /** The blockhash it is valid for, base58. */
  blockhash: string;
  status: SolanaSendStatus;
  /** The slot it was included in, when known. */
  slot?: number;
  /** Its error, when it was included and failed (the fee was still paid); JSON. */
  err?: unknown;
}

/** Longest encoded transaction kept, characters: 1232 bytes are at most 1683 base58 or 1644 base64 characters. */
export const SOLANA_SEND_MAX_ENCODED_CHARS = Math.ceil((SOLANA_MAX_TRANSACTION_BYTES * 8) / Math.log2(58)) + 1;
/** Largest `err` kept, characters of JSON; a larger one is kept as its first characters, as a string. */
export const SOLANA_SEND_MAX_ERR_CHARS = 1_024;

const STATUSES: ReadonlySet<string> = new Set<SolanaSendStatus>([
  "pending",
  "processed",
  "confirmed",
  "finalized",
  "expired",
  "rejected",
]);
/** The statuses a record is never changed from. */
export const SOLANA_SEND_FINAL_STATUSES: readonly SolanaSendStatus[] = ["finalized", "expired", "rejected"];
const FINAL: ReadonlySet<string> = new Set<string>(SOLANA_SEND_FINAL_STATUSES);
const CLUSTER = /^[a-z0-9-]{1,32}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether a status is final: a record holding one is never changed again. */
export function isFinalSolanaSend(status: SolanaSendStatus): boolean {
  return FINAL.has(status);
}

/** The text that identifies (cluster, signature) inside one store (a cluster name holds no ":"). */
export function solanaSendId(cluster: string, signature: string): string {
  return `${cluster}:${signature}`;
}

const isBase58 = (v: unknown, min: number, max: number): v is string =>
  typeof v === "string" && v.length >= min && v.length <= max && BASE58.test(v);

/** Checks the arguments of a read. */
export function checkSolanaSendAddress(cluster: unknown, signature: unknown): void {
  checkCluster(cluster);
  // 64 bytes are 87 or 88 base58 characters; fewer only with leading zero bytes.
  if (!isBase58(signature, 1, 88)) throw new TypeError("solana send signature must be base58, at most 88 characters");
}

/** Checks the arguments of a list of pending records. */
export function checkSolanaSendList(cluster: unknown, limit: unknown): void {
  checkCluster(cluster);
  if (!isCount(limit)) throw new RangeError(`solana send limit must be a non-negative integer, got ${String(limit)}`);
}

function checkCluster(cluster: unknown): void {
  if (typeof cluster !== "string" || !CLUSTER.test(cluster)) {
    throw new TypeError("solana send cluster must be lower-case letters, digits and '-', at most 32");
  }
}

/**
 * Validates a record and returns the form every store keeps: a fresh object with only the fields above (absent
 * optional ones left out), `err` as JSON-safe data within its bound. A `RangeError` for an encoded transaction beyond
 * `SOLANA_SEND_MAX_ENCODED_CHARS`, a `TypeError` for anything malformed.
 */
export function checkSolanaSend(record: SolanaSendRecord): SolanaSendRecord {
  if (typeof record !== "object" || record === null) throw new TypeError("solana send must be an object");
  checkSolanaSendAddress(record.cluster, record.signature);
  const { encoded, encoding } = record;
  if (encoding !== "base58" && encoding !== "base64")
    throw new TypeError("solana send encoding must be base58 or base64");
  if (typeof encoded !== "string") throw new TypeError("solana send encoded must be a string");
  if (encoded.length > SOLANA_SEND_MAX_ENCODED_CHARS) {
    throw new RangeError(
      `solana send encoded is ${encoded.length} characters, at most ${SOLANA_SEND_MAX_ENCODED_CHARS}`,
    );
  }
  if (encoded.length === 0 || !(encoding === "base58" ? BASE58 : BASE64).test(encoded)) {
    throw new TypeError(`solana send encoded is not ${encoding}`);
  }
  if (!isBase58(record.blockhash, 32, 44)) throw new TypeError("solana send blockhash must be base58 of 32 bytes");
  if (!STATUSES.has(record.status)) throw new TypeError(`solana send status is unknown: ${String(record.status)}`);
  const kept: SolanaSendRecord = {
    cluster: record.cluster,
    signature: record.signature,
    encoded,
    encoding,
    blockhash: record.blockhash,
    status: record.status,
    ...checkBookkeeping(record, "solana send"),
  };
  if (record.slot !== undefined) {
    if (!isCount(record.slot)) throw new TypeError("solana send slot must be a non-negative integer");
    kept.slot = record.slot;
  }
  if (record.err !== undefined) kept.err = boundedErr(record.err);
  return kept;
}

/** The chain's error as JSON-safe data: only for people and clients to read, so never a reason to refuse a record. */
function boundedErr(err: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(err);
  } catch {
    json = undefined;
  }
  if (json === undefined) return String(err).slice(0, SOLANA_SEND_MAX_ERR_CHARS);
  return json.length <= SOLANA_SEND_MAX_ERR_CHARS ? JSON.parse(json) : json.slice(0, SOLANA_SEND_MAX_ERR_CHARS);
}

/** Oldest `firstSeenAt` first, ties by signature then cluster: the one order every store lists and evicts pending records in. */
export function comparePendingSolanaSends(a: SolanaSendRecord, b: SolanaSendRecord): number {
  if (a.firstSeenAt !== b.firstSeenAt) return a.firstSeenAt - b.firstSeenAt;
  if (a.signature !== b.signature) return a.signature < b.signature ? -1 : 1;
  return a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;
}

/** A status independent domains agree on (an entry of getSignatureStatuses' value). */
export interface AgreedStatus {
  slot: number;
  err: unknown;
  confirmationStatus?: string | null;
  confirmations?: number | null;
}

const RANK: Readonly<Record<string, number>> = { pending: 0, processed: 1, confirmed: 2, finalized: 3 };

/**
 * What an agreed status makes of a record's (not final): the commitment it names (an old status without one is
 * finalized), never below the one already known; none seen keeps what was known — but a transaction only `processed`
 * that independent domains no longer see was on a fork that lost: pending again, to be sent again.
 */
export function statusAfter(known: SolanaSendStatus, agreed: AgreedStatus | null): SolanaSendStatus {
  if (!agreed) return known === "processed" ? "pending" : known;
  const named = agreed.confirmationStatus;
  const seen: SolanaSendStatus =
    typeof named === "string" && RANK[named] !== undefined && named !== "pending"
      ? (named as SolanaSendStatus)
      : agreed.confirmations === null
        ? "finalized"
        : "processed";
  return (RANK[seen] ?? 0) >= (RANK[known] ?? 0) ? seen : known;
}
