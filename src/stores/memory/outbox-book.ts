/**
 * Outbox records held in a process (the memory store, and through it the local tier of the layered store): the EVM
 * outbox's transactions and Solana sends, each in a book of its own made by one generic `createRecordBook`. The bound
 * and the rules are those of the Store port: final records are frozen, a record keeps its first `firstSeenAt`, and
 * beyond the bound the records that became final longest ago go first, pending ones (in the kind's pending order)
 * only when every record is pending.
 */
import {
  checkSolanaSend,
  checkSolanaSendAddress,
  checkSolanaSendList,
  comparePendingSolanaSends,
  isFinalSolanaSend,
  type SolanaSendRecord,
  solanaSendId,
} from "../../core/solana/send-record.ts";
import {
  checkOutboxAddress,
  checkOutboxEntry,
  checkOutboxList,
  comparePendingOutbox,
  isFinalOutboxStatus,
  type OutboxEntry,
  outboxId,
} from "../../core/store.ts";

/** What a book needs to know of the records it holds. */
export interface RecordKind<T extends { firstSeenAt: number }> {
  /** Validates a record and returns the form kept (a fresh object); throws for bad input. */
  check(record: T): T;
  /** The record's id within the book. */
  id(record: T): string;
  /** Whether the record's status is final (it is then frozen). */
  isFinal(record: T): boolean;
  /** The pending order: listing and, when every record is pending, eviction. */
  compare(a: T, b: T): number;
  /** A copy for a caller, sharing nothing with the book. */
  copy(record: T): T;
}

export function createRecordBook<T extends { firstSeenAt: number }>(kind: RecordKind<T>, maxEntries: number) {
  const records = new Map<string, T>();
  // Insertion order is the order records became final (a final record is never written again).
  const finals = new Set<string>();
  const pending = new Set<string>();

  const evictOne = () => {
    const oldestFinal = finals.values().next();
    if (!oldestFinal.done) {
      finals.delete(oldestFinal.value);
      records.delete(oldestFinal.value);
      return;
    }
    // Only when every record is pending: a linear scan, on a path a healthy gateway never takes.
    let oldest: T | undefined;
    let oldestId = "";
    for (const id of pending) {
      const r = records.get(id)!;
      if (!oldest || kind.compare(r, oldest) < 0) {
        oldest = r;
        oldestId = id;
      }
    }
    pending.delete(oldestId);
    records.delete(oldestId);
  };

  return {
    /** Returns whether the record was written (false: the book holds it with a final status already). */
    put(record: T): boolean {
      const kept = kind.check(record);
      const id = kind.id(kept);
      const existing = records.get(id);
      if (existing && kind.isFinal(existing)) return false;
      if (existing) kept.firstSeenAt = existing.firstSeenAt;
      records.set(id, kept);
      if (kind.isFinal(kept)) {
        pending.delete(id);
        finals.add(id);
      } else {
        pending.add(id);
      }
      while (records.size > maxEntries) evictOne();
      return true;
    },
    /** The record under `id` (the caller checked the address it came from), as a fresh copy. */
    get(id: string): T | undefined {
      const r = records.get(id);
      return r && kind.copy(r);
    },
    /** The pending records `belongs` picks, in the pending order, at most `limit`, as fresh copies. */
    listPending(belongs: (record: T) => boolean, limit: number): T[] {
      const found: T[] = [];
      for (const id of pending) {
        const r = records.get(id)!;
        if (belongs(r)) found.push(r);
      }
      return found.sort(kind.compare).slice(0, limit).map(kind.copy);
    },
    clear() {
      records.clear();
      finals.clear();
      pending.clear();
    },
  };
}

const EVM_OUTBOX: RecordKind<OutboxEntry> = {
  check: checkOutboxEntry,
  id: (e) => outboxId(e.chainId, e.hash),
  isFinal: (e) => isFinalOutboxStatus(e.status),
  compare: comparePendingOutbox,
  // Every field is a primitive.
  copy: (e) => ({ ...e }),
};

const SOLANA_SENDS: RecordKind<SolanaSendRecord> = {
  check: checkSolanaSend,
  id: (r) => solanaSendId(r.cluster, r.signature),
  isFinal: (r) => isFinalSolanaSend(r.status),
  compare: comparePendingSolanaSends,
  // `err` is JSON data the caller could mutate.
  copy: (r) => (r.err === undefined ? { ...r } : structuredClone(r)),
};

/** The EVM outbox of a process: transactions by (chainId, hash). */
export function createOutboxBook(maxEntries: number) {
  const book = createRecordBook(EVM_OUTBOX, maxEntries);
  return {
    put: (entry: OutboxEntry): boolean => book.put(entry),
    get: (chainId: number, hash: string): OutboxEntry | undefined =>
      book.get(outboxId(chainId, checkOutboxAddress(chainId, hash))),
    listPending(chainId: number, limit: number): OutboxEntry[] {
      checkOutboxList(chainId, limit);
      return book.listPending((e) => e.chainId === chainId, limit);
    },
    clear: () => book.clear(),
  };
}

/** The Solana sends of a process: records by (cluster, signature). */
export function createSolanaSendBook(maxEntries: number) {
  const book = createRecordBook(SOLANA_SENDS, maxEntries);
  return {
    put: (record: SolanaSendRecord): boolean => book.put(record),
    get(cluster: string, signature: string): SolanaSendRecord | undefined {
      checkSolanaSendAddress(cluster, signature);
      return book.get(solanaSendId(cluster, signature));
    },
    listPending(cluster: string, limit: number): SolanaSendRecord[] {
      checkSolanaSendList(cluster, limit);
      return book.listPending((r) => r.cluster === cluster, limit);
    },
    clear: () => book.clear(),
  };
}
