/**
 * The in-process store: for tests, the embedded library, and as the local fallback when a shared store is down.
 * Nothing survives the process, outbox transactions (EVM and Solana) included.
 */

import { createByteLru } from "../../core/lru.ts";
import {
  answerCost,
  checkAnswer,
  checkCounter,
  checkLastKnownGoodAddress,
  createCordonBook,
  createLocalCounters,
  fromHeld,
  type HeldLastKnownGood,
  holdNewest,
  lastKnownGoodId,
  resolveStoreLimits,
  type Store,
  StoreError,
  type StoreLimits,
} from "../../core/store.ts";
import { createOutboxBook, createSolanaSendBook } from "./outbox-book.ts";

export function createMemoryStore(limits: Partial<StoreLimits> = {}): Store {
  const { maxEntries, maxAnswerBytes, maxOutboxEntries } = resolveStoreLimits(limits);
  // A Map iterates in insertion order; re-inserting on every accepted put keeps the least recently recorded first,
  // so eviction is one delete of the first key.
  const entries = new Map<string, HeldLastKnownGood>();
  const cordons = createCordonBook();
  const answers = createByteLru<string>(maxAnswerBytes);
  const counters = createLocalCounters();
  const outbox = createOutboxBook(maxOutboxEntries);
  // Bounded apart from the EVM outbox: one chain's transactions never evict another's.
  const solanaSends = createSolanaSendBook(maxOutboxEntries);
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new StoreError("closed", "the memory store is closed");
  };

  return {
    async putLastKnownGood(entry) {
      ensureOpen();
      holdNewest(entries, entry, maxEntries);
    },

    async getLastKnownGood(chainId, key) {
      ensureOpen();
      checkLastKnownGoodAddress(chainId, key);
      const held = entries.get(lastKnownGoodId(chainId, key));
      return held && fromHeld(held);
    },

    async putCordon(cordon) {
      ensureOpen();
      cordons.put(cordon);
    },

    async getCordons(chainId, now) {
      ensureOpen();
      return cordons.get(chainId, now);
    },

    async putAnswer(chainId, key, json) {
      ensureOpen();
      const id = checkAnswer(chainId, key, json);
      // A later put replaces: only verified answers are put, so one replaces an unverified copy an older version kept.
      answers.set(id, json, { bytes: answerCost(key, json) });
    },

    async getAnswer(chainId, key) {
      ensureOpen();
      return answers.get(checkAnswer(chainId, key), 0);
    },

    async addToCounter(name, amount, windowMs, now) {
      ensureOpen();
      return counters.add(checkCounter(name, amount, windowMs, now), amount);
    },

    async putOutbox(entry) {
      ensureOpen();
      outbox.put(entry);
    },

    async getOutbox(chainId, hash) {
      ensureOpen();
      return outbox.get(chainId, hash);
    },

    async listPendingOutbox(chainId, limit) {
      ensureOpen();
      return outbox.listPending(chainId, limit);
    },

    async putSolanaSend(record) {
      ensureOpen();
      solanaSends.put(record);
    },

    async getSolanaSend(cluster, signature) {
      ensureOpen();
      return solanaSends.get(cluster, signature);
    },

    async listPendingSolanaSends(cluster, limit) {
      ensureOpen();
      return solanaSends.listPending(cluster, limit);
    },

    async close() {
      closed = true;
      outbox.clear();
      solanaSends.clear();
      entries.clear();
      counters.clear();
    },
  };
}
