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
 * as last-known-good values). Solana sends follow the same rules, with a backlog of their own.
 */
import type { Logger } from "../core/ports.ts";
import {
  checkSolanaSendAddress,
  checkSolanaSendList,
  comparePendingSolanaSends,
  isFinalSolanaSend,
  type SolanaSendRecord,
  solanaSendId,
} from "../core/solana/send-record.ts";
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
/** Solana sends kept for the shared store while it is unreachable, apart from the EVM outbox's; as above. */
export const SHARED_SOLANA_BACKLOG_MAX = 10_000;

/** What merging the two tiers' copies of one kind of outbox record needs to know of it. */
interface RecordKind<T> {
  /** The record's id within its chain or cluster. */
  key(record: T): string;
  isFinal(record: T): boolean;
  /** How far along the record is: of two copies, the higher rank is the one to believe. */
  rank(record: T): number;
  /** The pending order. */
  compare(a: T, b: T): number;
}
const EVM_OUTBOX: RecordKind<OutboxEntry> = {
  key: (e) => e.hash,
  isFinal: (e) => isFinalOutboxStatus(e.status),
  rank: (e) => (isFinalOutboxStatus(e.status) ? 1 : 0),
  compare: comparePendingOutbox,
};
const SOLANA_COMMITMENT_RANK: Partial<Record<SolanaSendRecord["status"], number>> = { processed: 1, confirmed: 2 };
const SOLANA_SENDS: RecordKind<SolanaSendRecord> = {
  key: (r) => r.signature,
  isFinal: (r) => isFinalSolanaSend(r.status),
  // A final status, then the deeper commitment.
  rank: (r) => (isFinalSolanaSend(r.status) ? 3 : (SOLANA_COMMITMENT_RANK[r.status] ?? 0)),
  compare: comparePendingSolanaSends,
};

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
  const solanaBacklog = new Map<string, SolanaSendRecord>();
  const backlogSize = () => backlog.size + outboxBacklog.size + solanaBacklog.size;
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
        await drain(solanaBacklog, (r) => shared.putSolanaSend(r));
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

  /**
   * Writes an outbox record (put locally already) to the shared store and waits for its acknowledgement; when it
   * fails, queues the record for the catch-up. Never rejects: the local copy is what this replica works from.
   */
  async function putShared<T>(map: Map<string, T>, id: string, record: T, max: number, put: (r: T) => Promise<void>) {
    try {
      await put(record);
      // The shared store has this write; an older one waiting in the backlog must not follow it.
      map.delete(id);
      markUp();
      if (backlogSize() > 0) void catchUp();
    } catch (error) {
      queue(map, id, record, max);
      markDown(error);
    }
  }

  /** Asks both tiers for one record and returns the copy further along; with the shared store down, the local one. */
  async function getFurthest<T extends { updatedAt: number }>(
    kind: RecordKind<T>,
    mine: T | undefined,
    getShared: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let theirs: T | undefined;
    try {
      theirs = await getShared();
      markUp();
    } catch (error) {
      markDown(error);
      return mine;
    }
    return furthest(kind, theirs, mine);
  }

  /**
   * Merges the shared store's list of pending records of one chain or cluster with the local one (one per key,
   * pending order, at most `limit`). A record final here is left out; one pending only here is looked up in the
   * shared store, and when another replica saw it final it is left out and learnt locally.
   */
  async function mergePending<T>(
    kind: RecordKind<T>,
    limit: number,
    mine: T[],
    theirs: T[],
    tiers: {
      getLocal(key: string): Promise<T | undefined>;
      putLocal(record: T): Promise<void>;
      getShared(key: string): Promise<T | undefined>;
    },
  ): Promise<T[]> {
    const merged = new Map<string, T>();
    for (const r of theirs) {
      // Final here while the shared store missed it (it is in the backlog): this replica knows better.
      const known = await tiers.getLocal(kind.key(r));
      if (!known || !kind.isFinal(known)) merged.set(kind.key(r), r);
    }
    let reachable = true;
    const lastOfTheirs = theirs.length === limit ? theirs.at(-1) : undefined;
    for (const r of mine) {
      if (merged.has(kind.key(r))) continue;
      // Pending here but not in the shared list: another replica may have seen it final. Ask, and learn it locally so
      // the next list does not ask again — unless the shared list was cut before it (then it is simply further down).
      const beyond = lastOfTheirs !== undefined && kind.compare(r, lastOfTheirs) > 0;
      if (reachable && !beyond) {
        try {
          const known = await tiers.getShared(kind.key(r));
          if (known && kind.isFinal(known)) {
            await tiers.putLocal(known);
            continue;
          }
        } catch (error) {
          markDown(error);
          reachable = false;
        }
      }
      merged.set(kind.key(r), r);
    }
    return [...merged.values()].sort(kind.compare).slice(0, limit);
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
      await putShared(outboxBacklog, id, e, SHARED_OUTBOX_BACKLOG_MAX, (x) => shared.putOutbox(x));
    },
    async getOutbox(chainId, hash) {
      const h = checkOutboxAddress(chainId, hash);
      const mine = await local.getOutbox(chainId, h);
      return getFurthest(EVM_OUTBOX, mine, () => shared.getOutbox(chainId, h));
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
      return mergePending(EVM_OUTBOX, limit, mine, theirs, {
        getLocal: (hash) => local.getOutbox(chainId, hash),
        putLocal: (e) => local.putOutbox(e),
        getShared: (hash) => shared.getOutbox(chainId, hash),
      });
    },
    async putSolanaSend(record) {
      // As putOutbox: the local store validates (and records) first.
      await local.putSolanaSend(record);
      const r = structuredClone(record);
      const id = solanaSendId(r.cluster, r.signature);
      await putShared(solanaBacklog, id, r, SHARED_SOLANA_BACKLOG_MAX, (x) => shared.putSolanaSend(x));
    },
    async getSolanaSend(cluster, signature) {
      checkSolanaSendAddress(cluster, signature);
      const mine = await local.getSolanaSend(cluster, signature);
      return getFurthest(SOLANA_SENDS, mine, () => shared.getSolanaSend(cluster, signature));
    },
    async listPendingSolanaSends(cluster, limit) {
      checkSolanaSendList(cluster, limit);
      const mine = await local.listPendingSolanaSends(cluster, limit);
      let theirs: SolanaSendRecord[];
      try {
        theirs = await shared.listPendingSolanaSends(cluster, limit);
        markUp();
      } catch (error) {
        markDown(error);
        return mine;
      }
      return mergePending(SOLANA_SENDS, limit, mine, theirs, {
        getLocal: (signature) => local.getSolanaSend(cluster, signature),
        putLocal: (r) => local.putSolanaSend(r),
        getShared: (signature) => shared.getSolanaSend(cluster, signature),
      });
    },
    async close() {
      closed = true;
      await Promise.allSettled([local.close(), shared.close()]);
    },
  };
}

/**
 * Of two copies of one record, the one further along: the higher rank (a final status over a non-final one), then the
 * later update.
 */
function furthest<T extends { updatedAt: number }>(
  kind: RecordKind<T>,
  theirs: T | undefined,
  mine: T | undefined,
): T | undefined {
  if (!theirs || !mine) return theirs ?? mine;
  const [t, m] = [kind.rank(theirs), kind.rank(mine)];
  if (t !== m) return t > m ? theirs : mine;
  return mine.updatedAt > theirs.updatedAt ? mine : theirs;
}
