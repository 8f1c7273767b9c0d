import assert from "node:assert/strict";
import { test } from "node:test";
import { createSiblingHeads } from "./sibling-heads.ts";

function setup(initial: number) {
  let head = initial;
  let now = 0;
  let refreshes = 0;
  const waiters: { ms: number; resolve: () => void }[] = [];
  const siblings = createSiblingHeads({
    head: () => head,
    refresh: async () => {
      refreshes++;
    },
    waitForNextHead: (ms) => new Promise<void>((resolve) => waiters.push({ ms, resolve })),
    now: () => now,
    waitMs: 1_000,
  });
  return {
    siblings,
    refreshes: () => refreshes,
    /** This engine agrees on `n`; without `n`, the wait runs out with no new head. */
    next(n?: number) {
      const w = waiters.shift()!;
      if (n === undefined) now += w.ms;
      else head = n;
      w.resolve();
    },
  };
}

test("a sibling's higher head makes the engine poll at once, and a call waits until it has caught up", async () => {
  const s = setup(10);
  s.siblings.served(12);
  assert.equal(s.refreshes(), 1, "asked its upstreams at once");
  let done = false;
  const waiting = s.siblings.catchUp()!.then(() => {
    done = true;
  });
  await Promise.resolve();
  s.next(11);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(done, false, "still behind at 11");
  s.next(12);
  await waiting;
  assert.equal(done, true);
});

test("a sibling's head at or below this engine's changes nothing; catching up is bounded", async () => {
  const s = setup(10);
  s.siblings.served(9);
  s.siblings.served(10);
  assert.equal(s.refreshes(), 0);
  assert.equal(s.siblings.catchUp(), undefined, "not behind: nothing to wait for");
  s.siblings.served(20);
  const waiting = s.siblings.catchUp();
  await Promise.resolve();
  s.next(); // no head within the wait: the call goes on at the head it has
  await waiting;
});
