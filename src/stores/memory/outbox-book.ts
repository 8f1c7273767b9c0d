/**
 * Outbox transactions held in a process (the memory store, and the local tier of the layered store). The bound and
 * the rules are those of the Store port: final entries are frozen, and beyond the bound the entries that became final
 * longest ago go first, pending ones (oldest `firstSeenAt` first) only when every entry is pending.
 */
import {
  checkOutboxAddress,
  checkOutboxEntry,
  checkOutboxList,
  comparePendingOutbox,
  isFinalOutboxStatus,
  type OutboxEntry,
  outboxId,
} from "../../core/store.ts";

export function createOutboxBook(maxEntries: number) {
  const entries = new Map<string, OutboxEntry>();
  // Insertion order is the order entries became final (a final entry is never written again).
  const finals = new Set<string>();
  const pending = new Set<string>();

  const evictOne = () => {
    const oldestFinal = finals.values().next();
    if (!oldestFinal.done) {
      finals.delete(oldestFinal.value);
      entries.delete(oldestFinal.value);
      return;
    }
    // Only when every entry is pending: a linear scan, on a path a healthy gateway never takes.
    let oldest: OutboxEntry | undefined;
    let oldestId = "";
    for (const id of pending) {
      const e = entries.get(id)!;
      if (!oldest || comparePendingOutbox(e, oldest) < 0) {
        oldest = e;
        oldestId = id;
      }
    }
    pending.delete(oldestId);
    entries.delete(oldestId);
  };

  return {
    /** Returns whether the entry was written (false: the store holds it with a final status already). */
    put(entry: OutboxEntry): boolean {
      const kept = checkOutboxEntry(entry);
      const id = outboxId(kept.chainId, kept.hash);
      const existing = entries.get(id);
      if (existing && isFinalOutboxStatus(existing.status)) return false;
      if (existing) kept.firstSeenAt = existing.firstSeenAt;
      entries.set(id, kept);
      if (isFinalOutboxStatus(kept.status)) {
        pending.delete(id);
        finals.add(id);
      } else {
        pending.add(id);
      }
      while (entries.size > maxEntries) evictOne();
      return true;
    },
    get(chainId: number, hash: string): OutboxEntry | undefined {
      const e = entries.get(outboxId(chainId, checkOutboxAddress(chainId, hash)));
      return e && { ...e };
    },
    listPending(chainId: number, limit: number): OutboxEntry[] {
      checkOutboxList(chainId, limit);
      const found: OutboxEntry[] = [];
      for (const id of pending) {
        const e = entries.get(id)!;
        if (e.chainId === chainId) found.push(e);
      }
      return found
        .sort(comparePendingOutbox)
        .slice(0, limit)
        .map((e) => ({ ...e }));
    },
    clear() {
      entries.clear();
      finals.clear();
      pending.clear();
    },
  };
}
