/**
 * Memory under load with a small answer cache: Multihome (cache on, `cache.maxBytes` small, blocks final one block
 * below the head) behind a fault proxy that counts the calls reaching the node, under wrk sending `eth_getBalance`
 * of far more distinct addresses at a final block than the cache can hold. Every answer is cacheable and none is
 * asked again before it is evicted, so the cache fills, then churns: each answer stored evicts the oldest. The
 * gateway's memory and its cache's own count (entries, and the bytes it charges against the bound) are sampled over
 * IPC throughout; the claim is that the count stays within the bound and the retained heap flat once the cache is full.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { FailureDomain } from "../src/core/domains/domain.ts";
import { CACHE_ENTRY_OVERHEAD_BYTES } from "../src/engine/answers/answer-cache.ts";
import type { BodyCase } from "./bodies.ts";
import type { CacheStats, MemoryReport, MemoryUsage, ServeSpec } from "./serve.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

export interface MemorySample extends MemoryReport {
  /** ms since the load started. */
  atMs: number;
}

/** Requests sent after the load to see which answers the cache still holds. */
export interface CacheCheck {
  /** Bodies among the last sent (their answers must still be cached). */
  recent: number;
  /** `eth_getBalance` calls that reached the node for them. */
  recentUpstreamCalls: number;
  /** Bodies sent early enough that the cache must have evicted their answers. */
  evicted: number;
  evictedUpstreamCalls: number;
}

export interface MemoryBoundResult {
  /** `cache.enabled`: the control run has it off, and otherwise the same load. */
  cache: boolean;
  cacheMaxBytes: number;
  finalityDepth: number;
  /** Distinct bodies (and so distinct cache keys) in the set wrk sends in turn. */
  distinctBodies: number;
  /**
   * `CACHE_ENTRY_OVERHEAD_BYTES` of src/engine/chain.ts when the run was made: the fixed per-entry estimate inside
   * every byte count the cache reports, kept with the run so a later rendering never pairs it with another run.
   */
  entryOverheadBytes: number;
  /** Distinct keys asked for during the load: every request up to the size of the set. */
  keysTouched: number;
  /** After a full garbage collection, with Multihome ready and before any load. */
  idle: MemoryReport;
  /** Every `sampleMs` during the load, without forcing a collection: what the process really holds, garbage included. */
  samples: MemorySample[];
  /** After a full garbage collection, at fixed points during the load: what is retained. */
  retained: MemorySample[];
  /** After a full garbage collection, once the load has ended. */
  end: MemoryReport;
  wrk: Omit<WrkResult, "text">;
  /** `eth_getBalance` calls that reached the node during the load. */
  upstreamCalls: number;
  /** Absent with the cache off, or when the run was too short for its evicted bodies to exist. */
  cacheCheck?: CacheCheck;
  sampleMs: number;
  durationS: number;
}

export interface MemoryBoundOptions {
  chainId: number;
  upstream: { id: string; url: string; domain: FailureDomain };
  cases: readonly BodyCase[];
  /** The same cases, written by `bodiesFileText`. */
  bodiesFile: string;
  /** `cache.enabled`; false makes the control run. */
  cache: boolean;
  cacheMaxBytes: number;
  finalityDepth: number;
  durationS: number;
  connections: number;
  /** The cache check assumes one thread, which sends the bodies strictly in turn; with more it is left out. */
  threads: number;
  /** Registers each started process so an interrupt stops it (run.ts's `track`). */
  track<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T>;
  /** @default 250 */
  sampleMs?: number;
  /** Bodies sent for each half of the cache check. @default 64 */
  checkCount?: number;
}

/** Deadline of one check request after the load, ms. */
const CHECK_TIMEOUT_MS = 10_000;
/** Retained-heap samples (each forces a full collection in the gateway) at these shares of the load's duration. */
const RETAINED_AT = [1 / 3, 2 / 3];
/** How far back from the last request the "recent" check bodies were sent, in requests: well inside the cache. */
export const RECENT_BACK = 1_000;
/** How far back, in cache capacities, the "evicted" check bodies were sent: far outside the cache. */
export const EVICTED_BACK_CAPACITIES = 3;

/** Every sample of a run, during the load (as it is and retained) and after it, in time order. */
export function allSamples(r: Pick<MemoryBoundResult, "idle" | "samples" | "retained" | "end">): MemoryReport[] {
  const during = [...r.samples, ...r.retained].sort((a, b) => a.atMs - b.atMs);
  return [r.idle, ...during, r.end];
}

/** The highest byte count and the most entries the cache reported in any sample; undefined when none carried them. */
export function cachePeak(r: Pick<MemoryBoundResult, "idle" | "samples" | "retained" | "end">): CacheStats | undefined {
  const stats = allSamples(r).flatMap((s) => (s.cache ? [s.cache] : []));
  if (stats.length === 0) return undefined;
  return { bytes: Math.max(...stats.map((c) => c.bytes)), entries: Math.max(...stats.map((c) => c.entries)) };
}

/** Bytes the cache charges per answer held, from its own count at the end of the load. */
export function bytesPerEntry(r: Pick<MemoryBoundResult, "end">): number | undefined {
  const c = r.end.cache;
  return c && c.entries > 0 ? c.bytes / c.entries : undefined;
}

/** How much the retained heap (after a full collection) rose above idle, during the load or after it. */
export function retainedGrowth(r: Pick<MemoryBoundResult, "idle" | "retained" | "end">): number {
  return Math.max(0, ...[...r.retained, r.end].map((s) => s.heapUsed - r.idle.heapUsed));
}

/** Distinct keys asked for by `atMs` into the load, estimated from the run's average rate (bodies go in turn). */
export function keysAt(r: Pick<MemoryBoundResult, "wrk" | "distinctBodies">, atMs: number): number {
  const asked = Math.round((r.wrk.requests * atMs) / (r.wrk.durationUs / 1000));
  return Math.min(r.distinctBodies, r.wrk.requests, asked);
}

/** How far the retained heap may rise after the cache is full, as a share of `cache.maxBytes`, and still be flat. */
export const FLAT_TOLERANCE = 0.25;

export interface MemoryVerdict {
  /** Retained heap growth with the cache on, bytes. */
  growth: number;
  /** The same with the cache off: what serving the load holds anyway (code warmed up, sockets, requests in flight). */
  fixedOverhead: number;
  /** `growth - fixedOverhead`: the heap the cache's contents take. */
  cacheHeap: number;
  /** The first retained sample taken once more distinct keys had been asked for than the cache then held (it had evicted). */
  full?: MemorySample;
  /** The highest retained heap after `full` (later samples and the end) minus at `full`: growth once the cache was full. */
  riseAfterFull?: number;
  /** The retained heap stopped growing once the cache was full (within {@link FLAT_TOLERANCE} of the bound). */
  flat: boolean | undefined;
  /** The heap the cache takes is within `cache.maxBytes`. */
  withinBound: boolean;
  /** The cache's own count at its highest, in any sample during or after the load; undefined when none reported it. */
  cachePeak?: CacheStats;
  /** The cache's own byte count stayed ≤ `cache.maxBytes` in every sample. */
  countWithinBound: boolean | undefined;
}

/**
 * What the memory runs show: whether the retained heap stayed flat while ever more distinct keys were asked for, and
 * how the heap the cache takes (cache on minus the control) compares with the bound it counts.
 */
export function memoryVerdict(withCache: MemoryBoundResult, control: MemoryBoundResult): MemoryVerdict {
  const growth = retainedGrowth(withCache);
  const fixedOverhead = retainedGrowth(control);
  const cacheHeap = growth - fixedOverhead;
  const fullAt = withCache.retained.findIndex(
    (s) => s.cache !== undefined && keysAt(withCache, s.atMs) > s.cache.entries,
  );
  const full = fullAt === -1 ? undefined : withCache.retained[fullAt];
  // Every later retained sample counts, not only the end: during the load the heap also holds requests in flight.
  const later = [...withCache.retained.slice(fullAt + 1), withCache.end].map((s) => s.heapUsed);
  const riseAfterFull = full ? Math.max(...later) - full.heapUsed : undefined;
  const peak = cachePeak(withCache);
  return {
    growth,
    fixedOverhead,
    cacheHeap,
    ...(full ? { full } : {}),
    ...(riseAfterFull !== undefined ? { riseAfterFull } : {}),
    flat: riseAfterFull === undefined ? undefined : riseAfterFull <= FLAT_TOLERANCE * withCache.cacheMaxBytes,
    withinBound: cacheHeap <= withCache.cacheMaxBytes,
    ...(peak ? { cachePeak: peak } : {}),
    countWithinBound: peak === undefined ? undefined : peak.bytes <= withCache.cacheMaxBytes,
  };
}

/** The highest RSS and heap among the samples. */
export function peakOf(samples: readonly MemoryUsage[]): { rss: number; heapUsed: number } {
  return {
    rss: Math.max(0, ...samples.map((s) => s.rss)),
    heapUsed: Math.max(0, ...samples.map((s) => s.heapUsed)),
  };
}

/**
 * Which bodies to ask again after the load: those sent `RECENT_BACK` requests before the end (still cached) and
 * those sent `EVICTED_BACK_CAPACITIES` times the entries the cache held at the end before it (evicted, and not sent
 * again since). Bodies are
 * sent in turn from the first, so the `p`th request sent carries case `(p - 1) mod count`. Undefined when the run
 * was too short, or the set too small, for such evicted bodies to exist.
 */
export function checkPlan(
  sent: number,
  count: number,
  entriesHeld: number,
  checkCount: number,
): { recent: number[]; evicted: number[] } | undefined {
  const evictedBack = EVICTED_BACK_CAPACITIES * entriesHeld;
  const evictedFirst = sent - evictedBack - checkCount;
  if (evictedFirst < 1 || count <= evictedBack + checkCount || sent - RECENT_BACK < 1) return undefined;
  const caseAt = (position: number) => (position - 1) % count;
  const range = (first: number) => Array.from({ length: checkCount }, (_, i) => caseAt(first + i));
  return { recent: range(sent - RECENT_BACK), evicted: range(evictedFirst) };
}

async function memoryOf(server: ServerProcess, gc: boolean): Promise<MemoryReport> {
  return (await server.command({ type: "memory", gc })) as MemoryReport;
}

async function post(url: string, c: BodyCase): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: c.body,
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(c.expect)) {
    throw new Error(`id ${c.id}: expected ${c.expect}, got HTTP ${res.status} ${text.slice(0, 200)}`);
  }
}

export async function measureMemoryBound(options: MemoryBoundOptions): Promise<MemoryBoundResult> {
  const {
    chainId,
    upstream,
    cases,
    bodiesFile,
    cache,
    cacheMaxBytes,
    finalityDepth,
    durationS,
    connections,
    threads,
    track,
    sampleMs = 250,
    checkCount = 64,
  } = options;
  if (cases.length === 0) throw new Error("no bodies");
  const proxies = await track(startServerProcess({ kind: "fault-proxies", targets: [upstream.url] }));
  try {
    const spec: ServeSpec = {
      kind: "multihome",
      chainId,
      upstreams: [{ ...upstream, url: proxies.urls[0]! }],
      balances: "single",
      cache,
      cacheMaxBytes,
      finalityDepth,
    };
    const gateway = await track(startServerProcess(spec, ["--expose-gc"]));
    try {
      const url = gateway.urls[0]!;
      const takeCalls = async () =>
        ((await proxies.command({ type: "takeCounts", method: "eth_getBalance" })) as number[])[0] ?? 0;
      // The last body is the one check that does not disturb the run: wrk reaches it last, if at all.
      await post(url, cases.at(-1)!);
      const idle = await memoryOf(gateway, true);
      await takeCalls();

      const samples: MemorySample[] = [];
      const retained: MemorySample[] = [];
      const stopSampling = new AbortController();
      const started = performance.now();
      const load = runWrk({ url, bodiesFile, connections, threads, durationS }).finally(() => stopSampling.abort());
      const retainAt = RETAINED_AT.map((share) => share * durationS * 1000);
      const sampling = (async () => {
        while (!stopSampling.signal.aborted) {
          const atMs = performance.now() - started;
          const gc = retainAt.length > 0 && atMs >= retainAt[0]!;
          if (gc) retainAt.shift();
          const usage = await memoryOf(gateway, gc);
          (gc ? retained : samples).push({ atMs, ...usage });
          await delay(sampleMs, undefined, { signal: stopSampling.signal }).catch(() => {});
        }
      })();
      // Both settle before either's failure is thrown: wrk ends by itself within its duration.
      const [loaded, sampled] = await Promise.allSettled([load, sampling]);
      if (loaded.status === "rejected") throw loaded.reason;
      if (sampled.status === "rejected") throw sampled.reason;
      const { text: _, ...wrk } = loaded.value;
      const upstreamCalls = await takeCalls();
      const end = await memoryOf(gateway, true);

      let cacheCheck: CacheCheck | undefined;
      const held = end.cache?.entries;
      if (cache && held === undefined) throw new Error("Multihome did not report its cache's count");
      const plan = cache && held && threads === 1 ? checkPlan(wrk.requests, cases.length, held, checkCount) : undefined;
      if (plan) {
        for (const i of plan.recent) await post(url, cases[i]!);
        const recentUpstreamCalls = await takeCalls();
        for (const i of plan.evicted) await post(url, cases[i]!);
        const evictedUpstreamCalls = await takeCalls();
        cacheCheck = { recent: checkCount, recentUpstreamCalls, evicted: checkCount, evictedUpstreamCalls };
      }
      return {
        cache,
        cacheMaxBytes,
        finalityDepth,
        distinctBodies: cases.length,
        entryOverheadBytes: CACHE_ENTRY_OVERHEAD_BYTES,
        keysTouched: Math.min(wrk.requests, cases.length),
        idle,
        samples,
        retained,
        end,
        wrk,
        upstreamCalls,
        ...(cacheCheck ? { cacheCheck } : {}),
        sampleMs,
        durationS,
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await proxies.stop();
  }
}
