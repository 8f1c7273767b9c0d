/**
 * The in-process store: for tests, the embedded library, and as the local fallback when a shared store is down.
 * Nothing survives the process.
 */
import {
  checkLastKnownGoodAddress,
  type LastKnownGood,
  lastKnownGoodId,
  resolveStoreLimits,
  type Store,
  StoreError,
  type StoreLimits,
  serializeLastKnownGood,
} from "../../core/store.ts";

/** An entry as held: the value as JSON text, so what a caller mutates after a put or a get never changes the store. */
interface Held {
  chainId: number;
  key: string;
  valueJson: string;
  blockNumber: number;
  blockHash: `0x${string}`;
  evidence: LastKnownGood["evidence"];
  recordedAt: number;
}

export function createMemoryStore(limits: Partial<StoreLimits> = {}): Store {
  const { maxEntries } = resolveStoreLimits(limits);
  // A Map iterates in insertion order; re-inserting on every accepted put keeps the least recently recorded first,
  // so eviction is one delete of the first key.
  const entries = new Map<string, Held>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new StoreError("closed", "the memory store is closed");
  };

  return {
    async putLastKnownGood(entry) {
      ensureOpen();
      const { valueJson, evidence } = serializeLastKnownGood(entry);
      const id = lastKnownGoodId(entry.chainId, entry.key);
      const existing = entries.get(id);
      if (existing && existing.blockNumber > entry.blockNumber) return;
      if (existing) entries.delete(id);
      entries.set(id, {
        chainId: entry.chainId,
        key: entry.key,
        valueJson,
        blockNumber: entry.blockNumber,
        blockHash: entry.blockHash,
        evidence,
        recordedAt: entry.recordedAt,
      });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },

    async getLastKnownGood(chainId, key) {
      ensureOpen();
      checkLastKnownGoodAddress(chainId, key);
      const held = entries.get(lastKnownGoodId(chainId, key));
      if (!held) return undefined;
      return {
        chainId: held.chainId,
        key: held.key,
        value: JSON.parse(held.valueJson),
        blockNumber: held.blockNumber,
        blockHash: held.blockHash,
        evidence: { method: held.evidence.method, domains: [...held.evidence.domains] },
        recordedAt: held.recordedAt,
      };
    },

    async close() {
      closed = true;
      entries.clear();
    },
  };
}
