/**
 * Static stability for a shared store: every write lands in the process's own store first and is copied to the shared
 * one in the background; reads prefer the shared store (another replica may know a newer value) and fall back to the
 * local one when it fails. Writes the shared store missed while it was down are kept (bounded) and copied when it is
 * back. No client request waits on, or fails because of, the shared store.
 *
 * Shared answers have no local tier here (the process's answer cache is one); while the shared store is down they
 * are neither read nor written — a miss costs one upstream call. Counters count locally too, so a replica cut off
 * from the others still counts what it sees.
 *
 * Outbox transactions go to both, and a put waits for Redis's acknowledgement (one command deadline at most) so that,
 * while Redis is up, a transaction survives this replica. When Redis refuses or is down the put still resolves: the
 * local copy is what this replica works from, and Redis gets the entry when it is back (the same backlog and catch-up
 * as last-known-good values).
 */
import type { Logger } from "../core/ports.ts";
import {
  checkAnswer,
  checkOutboxAddress,
  checkOutboxList,
  comparePendingOutbox,
  isFinalOutboxStatus,
  type LastKnownGood,
  lastKnownGoodId,
  type OutboxEntry,
  outboxId,
  type Store,
  StoreError,
} from "../core/store.ts";

/** Writes kept for the shared store while it is unreachable; beyond it the oldest are dropped (they stay local). */
export const SHARED_BACKLOG_MAX = 10_000;
/**
 * Outbox entries kept for the shared store while it is unreachable; beyond it the oldest writes are dropped (they
 * stay in the local store, which this replica keeps broadcasting from).
 */
export const SHARED_OUTBOX_BACKLOG_MAX = 10_000;

export interface LayeredStore extends Store {
  /** The shared store is reachable (as far as the last operation on it showed). */
  sharedUp(): boolean;
  /** Copy what the shared store missed; called when it is back. */
  catchUp(): Promise<void>;
}

export function createLayeredStore(local: Store, shared: Store, logger: Logger): LayeredStore {
  let up = true;
  const backlog = new Map<string, LastKnownGood>();
  const outboxBacklog = new Map<string, OutboxEntry>();
  const backlogSize = () => backlog.size + outboxBacklog.size;
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new StoreError("closed", "the layered store is closed");
  };
  const markDown = (error: unknown) => {
    // Closing the shared store fails what is in flight: that is shutdown, not an outage.
    if (closed) return;
    if (up) logger.warn({ err: (error as Error).message }, "shared store unreachable: serving from local state");
    up = false;
  };
  const markUp = () => {
    if (!up) logger.info({ backlog: backlogSize() }, "shared store reachable again: catching up");
    up = true;
  };
  /** Queues the newest write of `id` for the shared store; beyond `max` the oldest queued go (they stay local). */
  function queue<T>(map: Map<string, T>, id: string, value: T, max: number): void {
    map.delete(id);
    map.set(id, value);
    if (map.size > max) map.delete(map.keys().next().value!);
  }
  /** Copies what `map` queued; a write queued again while its older copy was being sent stays queued. */
  async function drain<T>(map: Map<string, T>, put: (value: T) => Promise<void>): Promise<void> {
    for (const [id, value] of map) {
      await put(value);
      if (map.get(id) === value) map.delete(id);
    }
  }
  let catching: Promise<void> | undefined;

  async function catchUp(): Promise<void> {
    catching ??= (async () => {
      try {
        // Transactions first: they are what must not be lost.
        await drain(outboxBacklog, (e) => shared.putOutbox(e));
        await drain(backlog, (e) => shared.putLastKnownGood(e));
        markUp();
      } catch (error) {
        markDown(error);
      } finally {
        catching = undefined;
      }
    })();
    return catching;
  }

  return {
    sharedUp: () => up,
    catchUp,
    async putLastKnownGood(entry) {
      await local.putLastKnownGood(entry);
      shared.putLastKnownGood(entry).then(
        () => {
          markUp();
          if (backlogSize() > 0) void catchUp();
        },
        (error: unknown) => {
          queue(backlog, lastKnownGoodId(entry.chainId, entry.key), structuredClone(entry), SHARED_BACKLOG_MAX);
          markDown(error);
        },
      );
    },
    async getLastKnownGood(chainId, key) {
      const mine = await local.getLastKnownGood(chainId, key);
      let theirs: LastKnownGood | undefined;
      try {
        theirs = await shared.getLastKnownGood(chainId, key);
        markUp();
      } catch (error) {
        markDown(error);
        return mine;
      }
      if (!theirs) return mine;
      if (!mine) return theirs;
      return theirs.blockNumber > mine.blockNumber ? theirs : mine;
    },
    async putCordon(cordon) {
      await local.putCordon(cordon);
      shared.putCordon(cordon).then(markUp, markDown);
    },
    async getCordons(chainId, now) {
      const mine = await local.getCordons(chainId, now);
      try {
        const theirs = await shared.getCordons(chainId, now);
        markUp();
        return [...theirs, ...mine];
      } catch (error) {
        markDown(error);
        return mine;
      }
    },
    async putAnswer(chainId, key, json) {
      ensureOpen();
      // Bad input is the caller's error, never a sign the shared store is down.
      checkAnswer(chainId, key, json);
      if (!up) return;
      shared.putAnswer(chainId, key, json).then(markUp, markDown);
    },
    async getAnswer(chainId, key) {
      ensureOpen();
      checkAnswer(chainId, key);
      if (!up) return undefined;
      try {
        const json = await shared.getAnswer(chainId, key);
        markUp();
        return json;
      } catch (error) {
        markDown(error);
        return undefined;
      }
    },
    async addToCounter(name, amount, windowMs, now) {
      const mine = await local.addToCounter(name, amount, windowMs, now);
      if (!up) return mine;
      try {
        const total = await shared.addToCounter(name, amount, windowMs, now);
        markUp();
        return total;
      } catch (error) {
        markDown(error);
        return mine;
      }
    },
    async putOutbox(entry) {
      // The local store validates first: bad input rejects there and never reads as Redis being down.
      await local.putOutbox(entry);
      const e = structuredClone(entry);
      const id = outboxId(e.chainId, checkOutboxAddress(e.chainId, e.hash));
      try {
        await shared.putOutbox(e);
        // Redis has this write; an older one waiting in the backlog must not follow it.
        outboxBacklog.delete(id);
        markUp();
        if (backlogSize() > 0) void catchUp();
      } catch (error) {
        queue(outboxBacklog, id, e, SHARED_OUTBOX_BACKLOG_MAX);
        markDown(error);
      }
    },
    async getOutbox(chainId, hash) {
      const h = checkOutboxAddress(chainId, hash);
      const mine = await local.getOutbox(chainId, h);
      let theirs: OutboxEntry | undefined;
      try {
        theirs = await shared.getOutbox(chainId, h);
        markUp();
      } catch (error) {
        markDown(error);
        return mine;
      }
      return furthest(theirs, mine);
    },
    async listPendingOutbox(chainId, limit) {
      checkOutboxList(chainId, limit);
      const mine = await local.listPendingOutbox(chainId, limit);
      let theirs: OutboxEntry[];
      try {
        theirs = await shared.listPendingOutbox(chainId, limit);
        markUp();
      } catch (error) {
        markDown(error);
        return mine;
      }
      const merged = new Map<string, OutboxEntry>();
      for (const e of theirs) {
        // Final here while Redis missed it (it is in the backlog): this replica knows better.
        const known = await local.getOutbox(chainId, e.hash);
        if (!known || !isFinalOutboxStatus(known.status)) merged.set(e.hash, e);
      }
      let reachable = true;
      const lastOfTheirs = theirs.length === limit ? theirs.at(-1) : undefined;
      for (const e of mine) {
        if (merged.has(e.hash)) continue;
        // Pending here but not in Redis's list: another replica may have seen it final. Ask, and learn it locally so
        // the next list does not ask again — unless Redis's list was cut before it (then it is simply further down).
        const beyond = lastOfTheirs !== undefined && comparePendingOutbox(e, lastOfTheirs) > 0;
        if (reachable && !beyond) {
          try {
            const known = await shared.getOutbox(chainId, e.hash);
            if (known && isFinalOutboxStatus(known.status)) {
              await local.putOutbox(known);
              continue;
            }
          } catch (error) {
            markDown(error);
            reachable = false;
          }
        }
        merged.set(e.hash, e);
      }
      return [...merged.values()].sort(comparePendingOutbox).slice(0, limit);
    },
    async close() {
      closed = true;
      await Promise.allSettled([local.close(), shared.close()]);
    },
  };
}

/** Of two copies of one transaction, the one further along: a final status over pending, then the later update. */
function furthest(theirs: OutboxEntry | undefined, mine: OutboxEntry | undefined): OutboxEntry | undefined {
  if (!theirs || !mine) return theirs ?? mine;
  const rank = (e: OutboxEntry) => (isFinalOutboxStatus(e.status) ? 1 : 0);
  if (rank(theirs) !== rank(mine)) return rank(theirs) > rank(mine) ? theirs : mine;
  return mine.updatedAt > theirs.updatedAt ? mine : theirs;
}
