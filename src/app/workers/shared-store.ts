/**
 * One store for the whole gateway when it runs as workers. The primary opens the configured store and answers the
 * workers' store calls over IPC (`hostStore`); each worker's store (`workerStore`) sends there what every worker must
 * see — last-known-good values, cordons, verified answers about final blocks, rate-limit counters — and keeps its
 * outbox (EVM transactions and Solana sends alike) in its own file: a transaction is recorded and rebroadcast by the
 * one worker that took it (no two broadcast it), and the worker forked again in its place reopens that file.
 */

import type { Store } from "../../core/store.ts";
import { StoreError } from "../../core/store.ts";

/** The store calls a worker sends the primary (the outbox and Solana sends stay in the worker). */
export const SHARED_STORE_OPS = [
  "putLastKnownGood",
  "getLastKnownGood",
  "putCordon",
  "getCordons",
  "putAnswer",
  "getAnswer",
  "addToCounter",
] as const;
export type SharedStoreOp = (typeof SHARED_STORE_OPS)[number];

/** How long a worker waits for the primary to answer a store call, ms; beyond, the call fails as a store failure. */
export const SHARED_STORE_TIMEOUT_MS = 5_000;

export interface StoreCall {
  type: "store";
  id: number;
  op: SharedStoreOp;
  args: unknown[];
}
export type StoreReply = { type: "store-reply"; id: number } & (
  | { ok: true; value: unknown }
  | { ok: false; error: string }
);

export const isStoreCall = (m: unknown): m is StoreCall => {
  const c = m as Partial<StoreCall> | null;
  return (
    c?.type === "store" &&
    Number.isSafeInteger(c.id) &&
    SHARED_STORE_OPS.includes(c.op as SharedStoreOp) &&
    Array.isArray(c.args)
  );
};
export const isStoreReply = (m: unknown): m is StoreReply => {
  const r = m as Partial<StoreReply> | null;
  return r?.type === "store-reply" && Number.isSafeInteger(r.id) && typeof r.ok === "boolean";
};

/** The primary's side: a worker's store call, answered from `store`. */
export async function hostStore(store: Store, call: StoreCall): Promise<StoreReply> {
  try {
    const method = store[call.op] as (...args: unknown[]) => Promise<unknown>;
    const value = await method.apply(store, call.args);
    return { type: "store-reply", id: call.id, ok: true, value: value ?? null };
  } catch (error) {
    return { type: "store-reply", id: call.id, ok: false, error: (error as Error).message };
  }
}

/**
 * A worker's store: the shared calls through `send` to the primary (answers come back through the returned
 * `reply`), the outbox and Solana sends in `local`. Closing closes `local` only: the primary owns the shared store.
 */
export function workerStore(
  local: Store,
  send: (call: StoreCall) => void,
): { store: Store; reply(r: StoreReply): void } {
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  let nextId = 0;
  let closed = false;
  const call =
    (op: SharedStoreOp) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        if (closed) return reject(new StoreError("closed", "the store is closed"));
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new StoreError("write_failed", `the primary did not answer ${op} in ${SHARED_STORE_TIMEOUT_MS} ms`));
        }, SHARED_STORE_TIMEOUT_MS);
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        send({ type: "store", id, op, args });
      });
  const shared = Object.fromEntries(SHARED_STORE_OPS.map((op) => [op, call(op)])) as unknown as Pick<
    Store,
    SharedStoreOp
  >;
  return {
    store: {
      ...shared,
      getLastKnownGood: (chainId, key) =>
        (shared.getLastKnownGood(chainId, key) as Promise<unknown>).then((v) => (v ?? undefined) as never),
      getAnswer: (chainId, key) =>
        (shared.getAnswer(chainId, key) as Promise<unknown>).then((v) => (v ?? undefined) as never),
      putOutbox: (entry) => local.putOutbox(entry),
      getOutbox: (chainId, hash) => local.getOutbox(chainId, hash),
      listPendingOutbox: (chainId, limit) => local.listPendingOutbox(chainId, limit),
      putSolanaSend: (record) => local.putSolanaSend(record),
      getSolanaSend: (cluster, signature) => local.getSolanaSend(cluster, signature),
      listPendingSolanaSends: (cluster, limit) => local.listPendingSolanaSends(cluster, limit),
      async close() {
        closed = true;
        for (const [, w] of waiting) {
          clearTimeout(w.timer);
          w.reject(new StoreError("closed", "the store is closed"));
        }
        waiting.clear();
        await local.close();
      },
    },
    reply(r) {
      const w = waiting.get(r.id);
      if (!w) return;
      waiting.delete(r.id);
      clearTimeout(w.timer);
      if (r.ok) w.resolve(r.value);
      else w.reject(new StoreError("write_failed", r.error));
    },
  };
}
