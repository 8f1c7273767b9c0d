/**
 * The Store port: what Multihome keeps between requests (and, for durable stores, between restarts). Types, bounds and
 * the one validation every implementation shares; no I/O here. Implementations live in `stores/`, and each passes the
 * contract suite in `stores/store-contract.ts`.
 */
import { type ChainKey, isChainKey } from "./chain-key.ts";
import { BaseError } from "./errors.ts";
import { HASH_HEX } from "./hex.ts";
import type { OutboxEntry } from "./outbox/entry.ts";
import type { SolanaSendRecord } from "./solana/send-record.ts";

/** How a served value was checked: a Merkle proof, agreement across domains, or one upstream's word. */
export type Verification = "proof" | "quorum" | "single";

/** A verified state read, kept so that an outage is answered with it (and its age) instead of a fabricated zero. */
export interface LastKnownGood {
  chainId: number;
  /** What was read, e.g. "eth_getBalance:0xabc…" (lower-case address); at most 512 chars. */
  key: string;
  /** The value as served (JSON-safe: hex strings, objects). At most 64 KiB serialized. */
  value: unknown;
  blockNumber: number;
  blockHash: `0x${string}`;
  /** That block's timestamp, seconds since epoch, from its verified header: the value's age is measured from it. */
  blockTimestamp: number;
  evidence: { method: Verification; domains: string[] };
  /** When it was verified, ms since epoch. */
  recordedAt: number;
}

/** An upstream one replica found lying: the others avoid it too. */
export interface SharedCordon {
  /** The chain id, or `solana/{name}` for a Solana cluster. */
  chainId: ChainKey;
  upstreamId: string;
  /** ms since epoch. */
  until: number;
  reason: string;
}

/** Most cordons kept per chain (one per upstream; a chain has at most 64 upstreams). */
export const MAX_CORDONS_PER_CHAIN = 256;
/** Longest cordon reason kept, characters (longer is cut). */
export const CORDON_MAX_REASON_CHARS = 512;

/** Checks the chain a cordon is asked for: a chain id, or `solana/{name}`. */
export function checkCordonChain(chainId: unknown): ChainKey {
  if (!isChainKey(chainId)) throw new TypeError("cordon chainId must be a chain id or solana/{name}");
  return chainId;
}

/** Checks a cordon and returns it normalised (reason cut to its bound). */
export function checkCordon(cordon: SharedCordon): SharedCordon {
  checkCordonChain(cordon.chainId);
  if (typeof cordon.upstreamId !== "string" || cordon.upstreamId.length === 0 || cordon.upstreamId.length > 64)
    throw new TypeError("cordon upstreamId must be 1 to 64 characters");
  if (!Number.isFinite(cordon.until)) throw new TypeError("cordon until must be ms since the epoch");
  return { ...cordon, reason: String(cordon.reason).slice(0, CORDON_MAX_REASON_CHARS) };
}

/** Cordons held in a process (memory and SQLite stores: a single process has nobody to share them with). */
export function createCordonBook() {
  const byChain = new Map<ChainKey, Map<string, SharedCordon>>();
  return {
    put(cordon: SharedCordon): void {
      const c = checkCordon(cordon);
      const chain = byChain.get(c.chainId) ?? new Map<string, SharedCordon>();
      byChain.set(c.chainId, chain);
      const existing = chain.get(c.upstreamId);
      if (existing && existing.until >= c.until) return;
      chain.delete(c.upstreamId);
      chain.set(c.upstreamId, c);
      if (chain.size > MAX_CORDONS_PER_CHAIN) chain.delete(chain.keys().next().value!);
    },
    get(chainId: ChainKey, now: number): SharedCordon[] {
      const chain = byChain.get(checkCordonChain(chainId));
      if (!chain) return [];
      for (const [id, c] of chain) if (c.until <= now) chain.delete(id);
      return [...chain.values()].map((c) => ({ ...c }));
    },
  };
}

export interface Store {
  /**
   * Keep the entry unless the store already holds one for (chainId, key) at a higher block (at the same block the
   * later put wins). Never throws for a full store: it evicts the least recently recorded entries beyond its bound.
   * Rejects with `RangeError`/`TypeError` for an entry outside the bounds below, and `StoreError` once closed.
   */
  putLastKnownGood(entry: LastKnownGood): Promise<void>;
  getLastKnownGood(chainId: number, key: string): Promise<LastKnownGood | undefined>;
  /** Record a cordon so every replica sharing this store avoids the upstream until `until` (a later one wins). */
  putCordon(cordon: SharedCordon): Promise<void>;
  /** A chain's cordons still in force at `now`. */
  getCordons(chainId: ChainKey, now: number): Promise<SharedCordon[]>;
  /**
   * Keep a verified answer about final data (content that can no longer change) under (chainId, key), as the JSON
   * text served. A put replaces what the key held: the gateway puts only verified answers, so one replaces whatever
   * an older Multihome kept there unverified. The store evicts the least recently kept beyond its byte bound (Redis:
   * in the same Lua script, atomic across replicas; no TTL). Rejects with `RangeError` for a key or answer beyond the
   * bounds below.
   */
  putAnswer(chainId: number, key: string, json: string): Promise<void>;
  getAnswer(chainId: number, key: string): Promise<string | undefined>;
  /**
   * Add `amount` to the counter `name` in the fixed window of `windowMs` that holds `now` (windows start at multiples
   * of `windowMs` since the epoch, so replicas agree on them) and return the window's total — across every replica
   * sharing the store. For dispute counts and rate limits.
   */
  addToCounter(name: string, amount: number, windowMs: number, now: number): Promise<number>;
  /**
   * Record or update a signed transaction, keyed by (chainId, hash), before it is broadcast. Resolves only once the
   * entry is as durable as the store can make it (SQLite: committed to the file, not buffered; Redis: acknowledged).
   * An entry with a final status (`included`, `replaced`, `expired`) is frozen: a later put of it resolves and
   * changes nothing, so a final status never goes back to `pending`. A pending entry keeps its first `firstSeenAt`.
   * Hex fields are kept lower-case. Never fails for a full store: beyond `maxOutboxEntries` the entries that became
   * final longest ago go first, and pending ones only when every entry is pending (oldest `firstSeenAt` first).
   * Rejects with `RangeError`/`TypeError` for an entry `checkOutboxEntry` refuses, and `StoreError` once closed or
   * when the write failed (then the transaction is not recorded).
   */
  putOutbox(entry: OutboxEntry): Promise<void>;
  /** The transaction recorded under (chainId, hash), any status; the hash in any case. */
  getOutbox(chainId: number, hash: string): Promise<OutboxEntry | undefined>;
  /** Pending transactions of a chain, oldest `firstSeenAt` first (ties by hash), at most `limit`. */
  listPendingOutbox(chainId: number, limit: number): Promise<OutboxEntry[]>;
  /**
   * Record or update a Solana transaction (core/solana/send-record.ts), keyed by (cluster, signature), before it is
   * broadcast: the same rules as `putOutbox` — durable when it resolves, a final record (`finalized`, `expired`,
   * `rejected`) frozen, the first `firstSeenAt` kept — with its own bound of `maxOutboxEntries` records (the ones that
   * became final longest ago go first, pending ones only when none is final). Rejects as `putOutbox` does, for a
   * record `checkSolanaSend` refuses.
   */
  putSolanaSend(record: SolanaSendRecord): Promise<void>;
  /** The record kept under (cluster, signature), any status. */
  getSolanaSend(cluster: string, signature: string): Promise<SolanaSendRecord | undefined>;
  /** A cluster's records not yet final (pending, processed, confirmed), oldest `firstSeenAt` first, at most `limit`. */
  listPendingSolanaSends(cluster: string, limit: number): Promise<SolanaSendRecord[]>;
  /** Write anything buffered and release resources; idempotent. */
  close(): Promise<void>;
}

export interface StoreLimits {
  /** Most last-known-good entries kept; beyond it the least recently recorded go first. @default 100_000 */
  maxEntries: number;
  /** Most bytes of shared answers kept (keys and JSON); beyond it the least recently kept go first. @default 64 MiB */
  maxAnswerBytes: number;
  /**
   * Most outbox transactions kept (all chains together); beyond it the entries that became final longest ago go
   * first, then (only when all are pending) the oldest pending. @default 10_000
   */
  maxOutboxEntries: number;
}

/** Default bound on last-known-good entries per store. */
export const STORE_MAX_ENTRIES = 100_000;
/** Longest last-known-good key, characters. */
export const LKG_MAX_KEY_CHARS = 512;
/** Largest last-known-good value, bytes of UTF-8 JSON. */
export const LKG_MAX_VALUE_BYTES = 65_536;
/** Most failure-domain labels in one entry's evidence. */
export const LKG_MAX_DOMAINS = 64;
/** Longest failure-domain label, characters. */
export const LKG_MAX_DOMAIN_CHARS = 256;

export type StoreFailureKind =
  /** The store was closed; nothing can be read or written any more. */
  | "closed"
  /** The backing storage could not be opened (unreadable, corrupt, or written by a newer Multihome). */
  | "open_failed"
  /** A read failed in the backing storage. */
  | "read_failed"
  /** Buffered entries could not be written to the backing storage. */
  | "write_failed";
// Redis: every failed read is `read_failed` and every failed write `write_failed` (unreachable, timed out).

/** The one error type stores throw for their own failures (bad input is a `RangeError` or `TypeError`). */
export class StoreError extends BaseError<StoreFailureKind> {
  override readonly name = "StoreError";
  readonly code: StoreFailureKind;
  constructor(code: StoreFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Prefix of every key a shared store (Redis) writes, unless configured: one deployment per prefix. */
export const SHARED_KEY_PREFIX_DEFAULT = "multihome:";
/** Default bound on the bytes of shared answers per store. */
export const STORE_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** Longest shared-answer key, characters (a longer one is not shared). */
export const ANSWER_MAX_KEY_CHARS = 4_096;
/** Largest shared answer, bytes of JSON (a full block of a busy chain fits; a larger answer stays local). */
export const ANSWER_MAX_BYTES = 4 * 1024 * 1024;
/** Longest counter name, characters. */
export const COUNTER_MAX_NAME_CHARS = 256;
/** Most counters a process-local store keeps; beyond it the oldest windows go first. */
export const MAX_LOCAL_COUNTERS = 100_000;

/** Resolves the limits a store runs with; a nonsensical limit is an error at construction, not a surprise later. */
export function resolveStoreLimits(limits: Partial<StoreLimits> = {}): StoreLimits {
  const maxEntries = limits.maxEntries ?? STORE_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`store maxEntries must be a positive integer, got ${String(maxEntries)}`);
  }
  const maxAnswerBytes = limits.maxAnswerBytes ?? STORE_MAX_ANSWER_BYTES;
  if (!Number.isSafeInteger(maxAnswerBytes) || maxAnswerBytes < 1) {
    throw new RangeError(`store maxAnswerBytes must be a positive integer, got ${String(maxAnswerBytes)}`);
  }
  const maxOutboxEntries = limits.maxOutboxEntries ?? OUTBOX_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxOutboxEntries) || maxOutboxEntries < 1) {
    throw new RangeError(`store maxOutboxEntries must be a positive integer, got ${String(maxOutboxEntries)}`);
  }
  return { maxEntries, maxAnswerBytes, maxOutboxEntries };
}

/** Whether an answer can be shared at all: within the key and size bounds (bigger ones stay in the process cache). */
export function answerFits(key: string, json: string): boolean {
  return key.length > 0 && key.length <= ANSWER_MAX_KEY_CHARS && fitsUtf8Bytes(json, ANSWER_MAX_BYTES);
}

/** Checks a shared answer's address (and, for a put, the answer); returns its id within one store. */
export function checkAnswer(chainId: unknown, key: unknown, json?: unknown): string {
  if (!Number.isSafeInteger(chainId) || (chainId as number) < 0) {
    throw new TypeError(`answer chainId must be a non-negative integer, got ${String(chainId)}`);
  }
  if (typeof key !== "string" || key.length === 0 || key.length > ANSWER_MAX_KEY_CHARS) {
    throw new RangeError(`answer key must be a string of 1 to ${ANSWER_MAX_KEY_CHARS} characters`);
  }
  if (json !== undefined) {
    if (typeof json !== "string") throw new TypeError("answer must be JSON text");
    if (!fitsUtf8Bytes(json, ANSWER_MAX_BYTES)) {
      throw new RangeError(`answer is larger than ${ANSWER_MAX_BYTES} bytes`);
    }
  }
  return `${chainId}:${key}`;
}

/**
 * Checks a counter addition; returns the key of the window `now` falls in. The window's length is part of it: one
 * name counted over two window lengths is two counters.
 */
export function checkCounter(name: unknown, amount: unknown, windowMs: unknown, now: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > COUNTER_MAX_NAME_CHARS) {
    throw new RangeError(`counter name must be a string of 1 to ${COUNTER_MAX_NAME_CHARS} characters`);
  }
  if (!Number.isSafeInteger(amount) || (amount as number) < 0) {
    throw new RangeError(`counter amount must be a non-negative integer, got ${String(amount)}`);
  }
  if (!Number.isSafeInteger(windowMs) || (windowMs as number) < 1) {
    throw new RangeError(`counter windowMs must be a positive integer, got ${String(windowMs)}`);
  }
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
    throw new TypeError(`counter now must be ms since the epoch, got ${String(now)}`);
  }
  return `${name}|${windowMs}|${Math.floor(now / (windowMs as number))}`;
}

/** What a shared answer costs against `maxAnswerBytes`, the same in every store: its key and its JSON. */
export function answerCost(key: string, json: string): number {
  return key.length + json.length;
}

/** Counters held in a process (memory and SQLite stores: a single process has nobody to share them with). */
export function createLocalCounters() {
  // Keyed by window (see checkCounter); a past window is never counted again and goes out with the oldest.
  const counters = new Map<string, number>();
  return {
    add(windowKey: string, amount: number): number {
      const total = (counters.get(windowKey) ?? 0) + amount;
      counters.delete(windowKey);
      counters.set(windowKey, total);
      if (counters.size > MAX_LOCAL_COUNTERS) counters.delete(counters.keys().next().value!);
      return total;
    },
    clear: () => counters.clear(),
  };
}

/** The text that identifies (chainId, key) inside one store; the chain id is digits ended by the first ":", so two pairs never share one. */
export function lastKnownGoodId(chainId: number, key: string): string {
  return `${chainId}:${key}`;
}

/** Checks the arguments of a read; the same bounds as a write, so a key that could never be stored is a caller bug. */
export function checkLastKnownGoodAddress(chainId: unknown, key: unknown): void {
  if (!Number.isSafeInteger(chainId) || (chainId as number) < 0) {
    throw new TypeError(`last-known-good chainId must be a non-negative integer, got ${String(chainId)}`);
  }
  if (typeof key !== "string") throw new TypeError(`last-known-good key must be a string, got ${typeof key}`);
  if (key.length === 0 || key.length > LKG_MAX_KEY_CHARS) {
    throw new RangeError(`last-known-good key must be 1 to ${LKG_MAX_KEY_CHARS} characters, got ${key.length}`);
  }
}

const VERIFICATIONS: ReadonlySet<string> = new Set<Verification>(["proof", "quorum", "single"]);

/**
 * Validates an entry against the bounds above and returns its value serialized as JSON (every store keeps the value as
 * JSON text, so all of them hand back the same thing: what `JSON.parse(JSON.stringify(value))` gives).
 */
export function serializeLastKnownGood(entry: LastKnownGood): {
  valueJson: string;
  evidence: LastKnownGood["evidence"];
} {
  if (typeof entry !== "object" || entry === null) throw new TypeError("last-known-good entry must be an object");
  checkLastKnownGoodAddress(entry.chainId, entry.key);
  if (!Number.isSafeInteger(entry.blockNumber) || entry.blockNumber < 0) {
    throw new TypeError(`last-known-good blockNumber must be a non-negative integer, got ${String(entry.blockNumber)}`);
  }
  if (typeof entry.blockHash !== "string" || !HASH_HEX.test(entry.blockHash)) {
    throw new TypeError(`last-known-good blockHash must be 0x and 64 hex digits, got ${String(entry.blockHash)}`);
  }
  if (!Number.isSafeInteger(entry.blockTimestamp) || entry.blockTimestamp < 0) {
    throw new TypeError(
      `last-known-good blockTimestamp must be seconds since the epoch, got ${String(entry.blockTimestamp)}`,
    );
  }
  if (typeof entry.recordedAt !== "number" || !Number.isFinite(entry.recordedAt) || entry.recordedAt < 0) {
    throw new TypeError(`last-known-good recordedAt must be ms since the epoch, got ${String(entry.recordedAt)}`);
  }
  const evidence = entry.evidence;
  if (typeof evidence !== "object" || evidence === null || !VERIFICATIONS.has(evidence.method)) {
    throw new TypeError(`last-known-good evidence.method must be proof, quorum or single`);
  }
  if (!Array.isArray(evidence.domains) || evidence.domains.some((d) => typeof d !== "string")) {
    throw new TypeError("last-known-good evidence.domains must be an array of strings");
  }
  if (evidence.domains.length > LKG_MAX_DOMAINS) {
    throw new RangeError(`last-known-good evidence has ${evidence.domains.length} domains, at most ${LKG_MAX_DOMAINS}`);
  }
  if (evidence.domains.some((d) => d.length > LKG_MAX_DOMAIN_CHARS)) {
    throw new RangeError(`last-known-good evidence domain labels are at most ${LKG_MAX_DOMAIN_CHARS} characters`);
  }
  // JSON.stringify throws a TypeError itself for BigInt and cycles; undefined and functions serialize to nothing.
  const valueJson = JSON.stringify(entry.value) as string | undefined;
  if (valueJson === undefined) throw new TypeError(`last-known-good value is not JSON-serializable`);
  if (!fitsUtf8Bytes(valueJson, LKG_MAX_VALUE_BYTES)) {
    throw new RangeError(`last-known-good value is larger than ${LKG_MAX_VALUE_BYTES} bytes as JSON`);
  }
  return { valueJson, evidence: { method: evidence.method, domains: [...evidence.domains] } };
}

/** Whether `text` is at most `limit` bytes as UTF-8, without encoding it (a UTF-16 code unit is 1 to 3 bytes). */
function fitsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return false;
  if (text.length * 3 <= limit) return true;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is two code units and four bytes, so counting 2 per unit is exact for it.
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
    if (bytes > limit) return false;
  }
  return true;
}

/** An entry as held in memory: the value as JSON text, so a caller's later mutation never changes the store. */
export interface HeldLastKnownGood {
  chainId: number;
  key: string;
  valueJson: string;
  blockNumber: number;
  blockHash: `0x${string}`;
  blockTimestamp: number;
  evidence: LastKnownGood["evidence"];
  recordedAt: number;
}

/** Validates an entry (see `serializeLastKnownGood`) and gives the form stores keep it in. */
export function toHeld(entry: LastKnownGood): HeldLastKnownGood {
  const { valueJson, evidence } = serializeLastKnownGood(entry);
  return {
    chainId: entry.chainId,
    key: entry.key,
    valueJson,
    blockNumber: entry.blockNumber,
    blockHash: entry.blockHash,
    blockTimestamp: entry.blockTimestamp,
    evidence,
    recordedAt: entry.recordedAt,
  };
}

/**
 * The entry a kept one stands for: a fresh copy, so no caller ever shares a store's objects. Undefined for one an
 * older Multihome kept without its block's timestamp: its age cannot be told, so it is not served.
 */
export function fromHeld(held: HeldLastKnownGood): LastKnownGood | undefined {
  if (!Number.isSafeInteger(held.blockTimestamp)) return undefined;
  return {
    chainId: held.chainId,
    key: held.key,
    value: JSON.parse(held.valueJson),
    blockNumber: held.blockNumber,
    blockHash: held.blockHash,
    blockTimestamp: held.blockTimestamp,
    evidence: { method: held.evidence.method, domains: [...held.evidence.domains] },
    recordedAt: held.recordedAt,
  };
}

/**
 * Validate `entry` and keep it in `held` unless `held` already has the same question at a higher block; evict the
 * least recently recorded beyond `maxEntries`. `held` iterates in recording order (a kept put is re-inserted), so
 * eviction is one delete of the first key. Returns whether the entry was kept.
 */
export function holdNewest(held: Map<string, HeldLastKnownGood>, entry: LastKnownGood, maxEntries: number): boolean {
  const kept = toHeld(entry);
  const id = lastKnownGoodId(entry.chainId, entry.key);
  const existing = held.get(id);
  if (existing && existing.blockNumber > entry.blockNumber) return false;
  if (existing) held.delete(id);
  held.set(id, kept);
  while (held.size > maxEntries) {
    const oldest = held.keys().next();
    if (oldest.done) break;
    held.delete(oldest.value);
  }
  return true;
}

/** Default bound on outbox transactions per store (all chains together). */
export const OUTBOX_MAX_ENTRIES = 10_000;

export {
  checkOutboxAddress,
  checkOutboxEntry,
  checkOutboxList,
  comparePendingOutbox,
  isFinalOutboxStatus,
  OUTBOX_MAX_ERROR_CHARS,
  OUTBOX_MAX_RAW_HEX_CHARS,
  type OutboxEntry,
  type OutboxStatus,
  outboxId,
} from "./outbox/entry.ts";
