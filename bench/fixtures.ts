/**
 * Results the bench's unit tests build on: memory figures in MiB, a wrk result and one memory run, so the memory and
 * report tests share one picture of a run instead of copies that drift apart.
 */
import type { MemoryBoundResult } from "./memory-bound.ts";
import type { CacheStats, MemoryUsage } from "./serve.ts";
import type { WrkResult } from "./wrk.ts";

export const MiB = 2 ** 20;

/** Bytes the fixture's cache charges per answer held. */
export const FIXTURE_ENTRY_BYTES = 419;

/** `process.memoryUsage()` with the given heap and RSS, in MiB. */
export function usage(heapMiB: number, rssMiB = 100): MemoryUsage {
  return { rss: rssMiB * MiB, heapUsed: heapMiB * MiB, heapTotal: 2 * heapMiB * MiB, external: 0, arrayBuffers: 0 };
}

/** The cache's own count when it holds `entries` answers of the fixture's size. */
export function cacheOf(entries: number): CacheStats {
  return { entries, bytes: entries * FIXTURE_ENTRY_BYTES };
}

/** A clean wrk run of 10 s at `rps`. */
export function wrkResult(rps: number): Omit<WrkResult, "text"> {
  return {
    requests: rps * 10,
    durationUs: 10_000_000,
    bytes: 0,
    connectErrors: 0,
    readErrors: 0,
    writeErrors: 0,
    non2xx: 0,
    timeouts: 0,
    wrong: 0,
    wrongSample: "",
    p50Us: 1000,
    p90Us: 1500,
    p99Us: 3000,
    meanUs: 1100,
    maxUs: 9000,
    rps,
  };
}

/**
 * One memory run: 90,000 of 200,000 distinct bodies over 15 s with a 4 MiB bound, retained heap samples every 5 s
 * (`retainedMiB`) and `endMiB` after the load. With the cache on it holds 10,000 answers from the first retained
 * sample on; with it off it reports none.
 */
export function memoryRun(
  cache: boolean,
  retainedMiB: number[],
  endMiB: number,
  over: Partial<MemoryBoundResult> = {},
): MemoryBoundResult {
  const held = (entries: number) => ({ cache: cacheOf(cache ? entries : 0) });
  return {
    cache,
    cacheMaxBytes: 4 * MiB,
    finalityDepth: 1,
    distinctBodies: 200_000,
    entryOverheadBytes: 256,
    keysTouched: 90_000,
    idle: { ...usage(28, 150), ...held(1) },
    samples: [
      { atMs: 250, ...usage(60, 200), ...held(1_500) },
      { atMs: 500, ...usage(86, 270), ...held(3_000) },
    ],
    retained: retainedMiB.map((heap, i) => ({ atMs: (i + 1) * 5_000, ...usage(heap, 260), ...held(10_000) })),
    end: { ...usage(endMiB, 265), ...held(10_000) },
    wrk: { ...wrkResult(6_000), requests: 90_000, durationUs: 15_000_000 },
    upstreamCalls: 90_000,
    ...(cache ? { cacheCheck: { recent: 64, recentUpstreamCalls: 0, evicted: 64, evictedUpstreamCalls: 64 } } : {}),
    sampleMs: 250,
    durationS: 15,
    ...over,
  };
}
