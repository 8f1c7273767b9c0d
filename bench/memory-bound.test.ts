import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheOf, MiB, memoryRun, usage } from "./fixtures.ts";
import {
  bytesPerEntry,
  cachePeak,
  checkPlan,
  keysAt,
  type MemoryBoundResult,
  type MemorySample,
  memoryVerdict,
  peakOf,
  retainedGrowth,
} from "./memory-bound.ts";

/** A retained sample with the cache holding 10,000 answers, as the fixture's does once full. */
const at = (atMs: number, heapMiB: number): MemorySample => ({ atMs, ...usage(heapMiB), cache: cacheOf(10_000) });
const result = (over: Partial<MemoryBoundResult> = {}) => memoryRun(true, [36.5, 36.8], 36.2, over);

test("peaks, retained growth and the keys asked for by a point of the load", () => {
  const r = result();
  assert.deepEqual(peakOf(r.samples), { rss: 270 * MiB, heapUsed: 86 * MiB });
  assert.deepEqual(peakOf([]), { rss: 0, heapUsed: 0 });
  assert.ok(Math.abs(retainedGrowth(r) - 8.8 * MiB) < 1);
  assert.equal(retainedGrowth({ ...r, retained: [], end: usage(20) }), 0);
  assert.equal(keysAt(r, 5_000), 30_000);
  // Never more than the set holds, nor than were sent.
  assert.equal(keysAt({ ...r, distinctBodies: 1_000 }, 5_000), 1_000);
  assert.equal(keysAt(r, 20_000), 90_000);
});

test("the verdict: flat once full, and the cache's heap against its bound", () => {
  const control = memoryRun(false, [31, 30.6], 30);
  const v = memoryVerdict(result(), control);
  assert.ok(Math.abs(v.growth - 8.8 * MiB) < 1);
  assert.ok(Math.abs(v.fixedOverhead - 3 * MiB) < 1);
  assert.ok(Math.abs(v.cacheHeap - 5.8 * MiB) < 1);
  assert.equal(v.full?.atMs, 5_000);
  // The highest retained heap after the first full sample, the end included: 36.8 at 10 s.
  assert.ok(Math.abs(v.riseAfterFull! - 0.3 * MiB) < 1);
  assert.equal(v.flat, true);
  assert.equal(v.withinBound, false);
  assert.deepEqual(v.cachePeak, cacheOf(10_000));
  assert.equal(v.countWithinBound, true);

  // Still rising by more than a quarter of the bound after the cache filled: not flat.
  assert.equal(memoryVerdict(result({ end: usage(37.6) }), control).flat, false);
  // A rise during the load counts even when the end, with nothing in flight, is lower.
  const midRise = memoryVerdict(result({ retained: [at(5_000, 36.5), at(10_000, 38)], end: usage(30) }), control);
  assert.equal(midRise.flat, false);
  // Within the bound when the cache's heap is.
  assert.equal(memoryVerdict(result({ retained: [at(5_000, 33)], end: usage(32) }), control).withinBound, true);
  // The cache is full once more keys were asked for than it then held: at 5 s ≈30,000 keys, but 40,000 held.
  const roomy = memoryVerdict(
    result({ retained: [{ ...at(5_000, 36.5), cache: cacheOf(40_000) }, at(10_000, 36.8)] }),
    control,
  );
  assert.equal(roomy.full?.atMs, 10_000);
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

test("the cache's own count: its peak over every sample, during and after the load, and bytes per answer held", () => {
  const r = result();
  assert.deepEqual(cachePeak(r), cacheOf(10_000));
  assert.equal(bytesPerEntry(r), 419);
  // A sample during the load as it is counts as much as a retained one or the end.
  const spike = result();
  spike.samples[0] = { ...spike.samples[0]!, cache: { entries: 12_000, bytes: 4 * MiB + 100 } };
  assert.deepEqual(cachePeak(spike), { entries: 12_000, bytes: 4 * MiB + 100 });
  assert.equal(memoryVerdict(spike, memoryRun(false, [31], 30)).countWithinBound, false);
  // No count at all (a server that does not report one): nothing to tell.
  const none = result({
    idle: usage(28),
    samples: [{ atMs: 250, ...usage(60) }],
    retained: [{ atMs: 5_000, ...usage(36) }],
    end: usage(36),
  });
  assert.equal(cachePeak(none), undefined);
  assert.equal(bytesPerEntry(none), undefined);
  assert.equal(memoryVerdict(none, memoryRun(false, [31], 30)).countWithinBound, undefined);
  assert.equal(bytesPerEntry(result({ end: { ...usage(36), cache: cacheOf(0) } })), undefined);
});
