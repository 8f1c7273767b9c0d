/**
 * Static stability for a shared store: every write lands in the process's own store first and is copied to the shared
 * one in the background; reads prefer the shared store (another replica may know a newer value) and fall back to the
 * local one when it fails. Writes the shared store missed while it was down are kept (bounded) and copied when it is
 * back. No client request waits on, or fails because of, the shared store.
 *
 * Shared answers have no local tier here (the process's answer cache is one); while the shared store is down they
 * are neither read nor written — a miss costs one upstream call. Counters count locally too, so a replica cut off
 * from the others still counts what it sees.
 */
import type { Logger } from "../core/ports.ts";
import { checkAnswer, type LastKnownGood, lastKnownGoodId, type Store } from "../core/store.ts";

/** Writes kept for the shared store while it is unreachable; beyond it the oldest are dropped (they stay local). */
export const SHARED_BACKLOG_MAX = 10_000;

export interface LayeredStore extends Store {
  /** The shared store is reachable (as far as the last operation on it showed). */
  sharedUp(): boolean;
  /** Copy what the shared store missed; called when it is back. */
  catchUp(): Promise<void>;
}

export function createLayeredStore(local: Store, shared: Store, logger: Logger): LayeredStore {
  let up = true;
  const backlog = new Map<string, LastKnownGood>();
  const markDown = (error: unknown) => {
    if (up) logger.warn({ err: (error as Error).message }, "shared store unreachable: serving from local state");
    up = false;
  };
  const markUp = () => {
    if (!up) logger.info({ backlog: backlog.size }, "shared store reachable again: catching up");
    up = true;
  };
  const keep = (entry: LastKnownGood) => {
    const id = lastKnownGoodId(entry.chainId, entry.key);
    backlog.delete(id);
    backlog.set(id, entry);
    if (backlog.size > SHARED_BACKLOG_MAX) backlog.delete(backlog.keys().next().value!);
  };
  let catching: Promise<void> | undefined;

  async function catchUp(): Promise<void> {
    catching ??= (async () => {
      try {
        for (const [id, entry] of backlog) {
          await shared.putLastKnownGood(entry);
          backlog.delete(id);
        }
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
          if (backlog.size > 0) void catchUp();
        },
        (error: unknown) => {
          keep(entry);
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
      // Bad input is the caller's error, never a sign the shared store is down.
      checkAnswer(chainId, key, json);
      if (!up) return;
      shared.putAnswer(chainId, key, json).then(markUp, markDown);
    },
    async getAnswer(chainId, key) {
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
    async close() {
      await Promise.allSettled([local.close(), shared.close()]);
    },
  };
}
