import assert from "node:assert/strict";
import { test } from "node:test";
import { CACHE_ENTRY_OVERHEAD_BYTES } from "../src/engine/chain.ts";
import { balanceBodies } from "./bodies.ts";
import {
  answerEntryBytes,
  checkPlan,
  keysAt,
  type MemoryBoundResult,
  type MemorySample,
  memoryVerdict,
  peakOf,
  retainedGrowth,
} from "./memory-bound.ts";

const MiB = 2 ** 20;
const usage = (heapMiB: number, rssMiB = 100) => ({
  rss: rssMiB * MiB,
  heapUsed: heapMiB * MiB,
  heapTotal: 2 * heapMiB * MiB,
  external: 0,
  arrayBuffers: 0,
});
const at = (atMs: number, heapMiB: number): MemorySample => ({ atMs, ...usage(heapMiB) });

function result(over: Partial<MemoryBoundResult> = {}): MemoryBoundResult {
  return {
    cache: true,
    cacheMaxBytes: 4 * MiB,
    finalityDepth: 1,
    distinctBodies: 200_000,
    entryBytes: 206,
    entriesBound: 20_360,
    keysTouched: 90_000,
    idle: usage(28),
    samples: [at(250, 60), at(500, 90), at(750, 40)],
    retained: [at(5_000, 36.5), at(10_000, 36.8)],
    end: usage(36.2),
    wrk: {
      requests: 90_000,
      durationUs: 15_000_000,
      bytes: 0,
      connectErrors: 0,
      readErrors: 0,
      writeErrors: 0,
      non2xx: 0,
      timeouts: 0,
      wrong: 0,
      wrongSample: "",
      p50Us: 1,
      p90Us: 1,
      p99Us: 1,
      meanUs: 1,
      maxUs: 1,
      rps: 6_000,
    },
    upstreamCalls: 90_000,
    cacheCheck: { recent: 64, recentUpstreamCalls: 0, evicted: 64, evictedUpstreamCalls: 64 },
    sampleMs: 250,
    durationS: 15,
    ...over,
  };
}

test("an answer costs its key, its serialized result and the fixed overhead against the bound", () => {
  const [c] = balanceBodies({ count: 1, block: "0x1" });
  const key = `31337|eth_getBalance|["${JSON.parse(c!.body).params[0]}","0x1"]`;
  assert.equal(answerEntryBytes(31337, c!.body, "0x0"), key.length + '"0x0"'.length + CACHE_ENTRY_OVERHEAD_BYTES);
});

test("peaks, retained growth and the keys asked for by a point of the load", () => {
  const r = result();
  assert.deepEqual(peakOf(r.samples), { rss: 100 * MiB, heapUsed: 90 * MiB });
  assert.deepEqual(peakOf([]), { rss: 0, heapUsed: 0 });
  assert.ok(Math.abs(retainedGrowth(r) - 8.8 * MiB) < 1);
  assert.equal(retainedGrowth({ ...r, retained: [], end: usage(20) }), 0);
  assert.equal(keysAt(r, 5_000), 30_000);
  // Never more than the set holds, nor than were sent.
  assert.equal(keysAt({ ...r, distinctBodies: 1_000 }, 5_000), 1_000);
  assert.equal(keysAt(r, 20_000), 90_000);
});

test("the verdict: flat once full, and the cache's heap against its bound", () => {
  const control = result({ cache: false, retained: [at(5_000, 31), at(10_000, 30.6)], end: usage(30) });
  const v = memoryVerdict(result(), control);
  assert.ok(Math.abs(v.growth - 8.8 * MiB) < 1);
  assert.ok(Math.abs(v.fixedOverhead - 3 * MiB) < 1);
  assert.ok(Math.abs(v.cacheHeap - 5.8 * MiB) < 1);
  assert.equal(v.full?.atMs, 5_000);
  // The highest retained heap after the first full sample, the end included: 36.8 at 10 s.
  assert.ok(Math.abs(v.riseAfterFull! - 0.3 * MiB) < 1);
  assert.equal(v.flat, true);
  assert.equal(v.withinBound, false);

  // Still rising by more than a quarter of the bound after the cache filled: not flat.
  assert.equal(memoryVerdict(result({ end: usage(37.6) }), control).flat, false);
  // A rise during the load counts even when the end, with nothing in flight, is lower.
  const midRise = memoryVerdict(result({ retained: [at(5_000, 36.5), at(10_000, 38)], end: usage(30) }), control);
  assert.equal(midRise.flat, false);
  // Within the bound when the cache's heap is.
  assert.equal(memoryVerdict(result({ retained: [at(5_000, 33)], end: usage(32) }), control).withinBound, true);
  // The first sample taken before the cache could be full is not the reference.
  const early = memoryVerdict(result({ retained: [at(1_000, 30), at(10_000, 36.8)] }), control);
  assert.equal(early.full?.atMs, 10_000);
  // No sample after the cache filled: flatness cannot be told.
  const none = memoryVerdict(result({ retained: [at(1_000, 30)] }), control);
  assert.equal(none.full, undefined);
  assert.equal(none.flat, undefined);
});

test("the cache check asks again for bodies sent just before the end and long before it", () => {
  // 100,000 sent in turn from a set of 200,000: the p-th request carried case p - 1.
  assert.deepEqual(checkPlan(100_000, 200_000, 20_000, 3), {
    recent: [98_999, 99_000, 99_001],
    evicted: [39_996, 39_997, 39_998],
  });
  // The set wrapped around: positions map back into it.
  assert.deepEqual(checkPlan(250_000, 200_000, 20_000, 2), {
    recent: [48_999, 49_000],
    evicted: [189_997, 189_998],
  });
  // Too few requests for any to have been evicted, or a set so small that evicted bodies came back since.
  assert.equal(checkPlan(50_000, 200_000, 20_000, 64), undefined);
  assert.equal(checkPlan(100_000, 60_000, 20_000, 64), undefined);
});
